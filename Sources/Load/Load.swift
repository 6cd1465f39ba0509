// Load module
