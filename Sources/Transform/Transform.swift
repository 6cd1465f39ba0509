// Transform module
