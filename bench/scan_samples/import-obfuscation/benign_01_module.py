"""A plugin registry: plugins are modules named in configuration, loaded and looked up by name."""

import builtins
import importlib
import os

BACKENDS = {"json": "json", "yaml": "yaml", "toml": "tomllib"}


def backend(name):
    return importlib.import_module(BACKENDS[name])


def optional(module_name):
    try:
        return __import__(module_name)
    except ImportError:
        return None


def setting(name, default=None):
    return getattr(os, "environ").get(name, default)


def has_builtin(name):
    return name in vars(builtins)


def handler_for(command):
    return globals().get(f"do_{command}")


def do_help():
    print("usage: registry [help|list]")
