"""What harvesters read: the DCAT-AP catalogue, VoID, the quality report, the sitemap and the dumps."""
