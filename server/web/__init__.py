"""HTTP plumbing every feature shares: errors, negotiation, validators, templates, languages, request helpers."""
