"""Published specs: read them, diff them, import them into our layout, watch them nightly.

Providers publish one file (a JSON Schema bundle, an OpenAPI document), the project keeps one
schema per message in a folder. :mod:`~harness.specs.model` is the model all become (messages
or operations by name, each with its flattened schema, plus facts found in prose); a reader per
format fills it (:mod:`~harness.specs.bundle`, :mod:`~harness.specs.openapi`,
:mod:`~harness.specs.folder`; :func:`harness.specs.read.read_spec` picks one),
:mod:`~harness.specs.diff` compares any two,
:mod:`~harness.specs.importer` writes a published spec in our layout and
:mod:`~harness.specs.docs` fetches each provider's published specs for ``drift --docs``.
"""
