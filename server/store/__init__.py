"""Building the store from the data: loading, derived links, statistics, links, dumps. Knows nothing of HTTP."""
