// Sandbox module
