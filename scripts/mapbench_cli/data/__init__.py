"""Reading run folders: results CSV, series CSV, environment.json, and the schema of the columns."""
