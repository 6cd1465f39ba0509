// Reconcile module
