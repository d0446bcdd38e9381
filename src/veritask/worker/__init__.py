"""The worker service: fetches an app, its dataset and inputs, runs the app in a sandbox
(`runtimes`), computes the result digest, contributes, reveals and uploads the result."""
