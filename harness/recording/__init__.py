"""Cassettes: vcrpy recording and replay of the contract suite, with keys and media scrubbed.

``scrub`` compiles the ``before_record_*`` hooks (origin rebase, keys, media placeholders),
``match`` holds the vcrpy matchers and the miss error, ``cassettes`` the files and the
per-provider replay pool, ``transport`` the httpx transport of the ``cassette`` target, and
``recorder`` the ``vlm-harness record`` job. The first four sit beside ``targets/`` (the cassette
target is built from them); only ``recorder`` drives the engine, so this package's ``__init__``
imports nothing and ``import harness.recording.match`` stays cheap.
"""
