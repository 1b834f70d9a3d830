"""getLogger() without a name: the logger found for the calling file, once."""

from GangaCore.Utility import logging as ganga_logging


def _from_here():
    return ganga_logging.getLogger()


def test_an_unnamed_logger_is_the_calling_file_s_and_found_once(monkeypatch):
    first = _from_here()
    assert first.name == ganga_logging._getLogger(name=first.name).name
    guesses = []
    real_guess = ganga_logging._guess_module_logger_name

    def counting_guess(*args, **kwargs):
        guesses.append(args)
        return real_guess(*args, **kwargs)

    monkeypatch.setattr(ganga_logging, "_guess_module_logger_name", counting_guess)
    assert _from_here() is first
    assert guesses == []


def test_a_named_logger_is_unchanged():
    assert ganga_logging.getLogger("GangaCore.test.named") is ganga_logging.getLogger("GangaCore.test.named")
    assert ganga_logging.getLogger("GangaCore.test.named").name == "GangaCore.test.named"
