"""What the peer plugins share: the functions a collected test is parametrized with, swapped."""


def swap_parameters(items, replaced: dict) -> None:
    """In each collected test of ``items``, a parameter that is one of the peer's functions
    (``replaced``: its ``id`` -> fftconv's function) becomes fftconv's."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            for key, value in callspec.params.items():
                if id(value) in replaced:
                    callspec.params[key] = replaced[id(value)]
