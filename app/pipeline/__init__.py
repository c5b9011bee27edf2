"""The request pipeline: a bot's settings applied to one chat request.

Pure code over one settings snapshot (request parsing, context assembly, budget
trimming, generation parameters, model choice, provenance) plus the gateway that
forwards the result to an OpenAI-compatible upstream (gateway.py, the only I/O).
"""
