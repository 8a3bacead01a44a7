"""The W3C Reconciliation Service API: name keys, matching, scoring and the properties offered."""
