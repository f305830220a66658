"""The workbook's helpers: the Lambda functions, the local cloud and the small modules the
notebooks call."""
