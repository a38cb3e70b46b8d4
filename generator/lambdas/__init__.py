"""Lambda handlers shipped with the generated templates. Each module is self-contained (standard library + boto3,
both in the Lambda Python runtime) and never imports the rest of the generator, so it can be packaged on its own."""
