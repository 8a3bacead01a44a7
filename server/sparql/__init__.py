"""The SPARQL 1.1 Protocol endpoint: the protocol itself, the service description, the query UI and its examples."""
