"""Reading and writing: workflow JSON and schema, PSPLIB/Patterson, plans, reports."""
