"""SHACL validation of anyone's data against our shapes, for the command line and for POST /validate."""
