"""Demo apps that follow the iExec app contract (hello, wordcount, probe; OCI and wasm),
their sources and the builder (`build.py`) the devnet and the tests call."""
