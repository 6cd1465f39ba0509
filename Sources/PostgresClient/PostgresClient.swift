// PostgresClient module
