"""Rpdk::IAM::CrossAccountRole's READ, written for the official Python plugin
(cloudformation-cli-python-lib), for `cargo rpdk bench --beside-python`: the same IAM calls as the
Rust type's READ, the model as `cfn generate` writes it for Python."""
