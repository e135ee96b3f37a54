"""The CLI's help and its one-line errors: defaults and units, NAME placeholders, examples, did-you-mean."""

from __future__ import annotations

import argparse

import pytest

from gaussviz.cli import build_parser, gui_main, main
from gaussviz.cli.common import Parser, finish_help
from gaussviz.core.presets import PRESETS


def _parsers() -> dict[str, argparse.ArgumentParser]:
    top = build_parser()
    out = {"gaussviz": top}
    for a in top._actions:
        if isinstance(a, argparse._SubParsersAction):
            out.update({f"gaussviz {name}": p for name, p in a.choices.items()})
    return out


PARSERS = _parsers()


def _options(p: argparse.ArgumentParser):
    return [a for a in p._actions if a.option_strings and a.dest not in ("help", "version")]


@pytest.mark.parametrize("name", list(PARSERS))
def test_every_option_has_help_with_its_default(name):
    p = PARSERS[name]
    for a in _options(p):
        assert a.help and a.help != argparse.SUPPRESS, f"{name} {a.option_strings[0]}: no help"
        assert "default" in a.help or (a.required and "required" in a.help), \
            f"{name} {a.option_strings[0]}: no default in {a.help!r}"
    p.format_help()  # every help string formats (no stray %)


@pytest.mark.parametrize(("name", "option", "unit"), [
    ("gaussviz", "--after", "seconds"), ("gaussviz render", "--width", "pixels"),
    ("gaussviz sweep", "--width", "pixels"), ("gaussviz sweep", "--task-seconds", "seconds"),
    ("gaussviz run", "--target-rotation", "degrees"), ("gaussviz run", "--rotation-rate", "degrees per sample"),
    ("gaussviz run", "--steps", "updates"), ("gaussviz sweep", "--steps", "updates per chain"),
    ("gaussviz run", "--batch-size", "samples per update"), ("gaussviz run", "--alpha", "per update"),
])
def test_units_are_named(name, option, unit):
    a = PARSERS[name]._option_string_actions[option]
    assert unit in a.help


@pytest.mark.parametrize("name", list(PARSERS))
def test_usage_has_placeholders_not_lists(name):
    usage = PARSERS[name].format_usage()
    assert "{" not in usage, usage
    assert sum(p in usage for p in PRESETS) == 0, usage
    for a in _options(PARSERS[name]):
        if a.choices is not None:
            assert a.metavar == "NAME", a.option_strings


@pytest.mark.parametrize("name", list(PARSERS))
def test_examples_in_every_help(name):
    text = PARSERS[name].format_help()
    assert "\nexamples:\n" in text
    examples = text.split("\nexamples:\n", 1)[1].strip().splitlines()
    assert examples and all(line.split()[0] in ("gaussviz", "xvfb-run") for line in examples if line[2] != " ")


def test_short_choice_lists_are_spelled_out_long_ones_point_to_a_listing():
    run = PARSERS["gaussviz run"]
    assert "one of: constant, inverse, inverse-sqrt" in run._option_string_actions["--schedule"].help
    assert "gaussviz presets lists them" in run._option_string_actions["--preset"].help


@pytest.mark.parametrize(("argv", "fragments"), [
    (["--preset", "seed-questoin"], ["invalid choice: 'seed-questoin'", "did you mean 'seed-question'?",
                                     "gaussviz presets lists them"]),
    (["run", "--preset", "what-am-i-misssing"], ["did you mean 'what-am-i-missing'?"]),
    (["run", "--parameterization", "natual"], ["--parameterization", "did you mean 'natural'?",
                                               "one of: covariance, precision"]),
    (["run", "--schedule", "inverse_sqrt"], ["did you mean 'inverse-sqrt'?"]),
    (["run", "--target", "studentt"], ["did you mean 'student-t'?"]),
    (["rnu"], ["invalid choice: 'rnu'", "did you mean 'run'?", "one of: run, presets, sweep, render"]),
    (["run", "--alpah", "0.1"], ["unrecognized arguments: --alpah 0.1", "did you mean --alpha?"]),
    (["run", "--stpes=10"], ["did you mean --steps?"]),
    (["--prest", "seed-question"], ["unrecognized arguments: --prest", "did you mean --preset?"]),
    (["sweep", "--out", "x", "--parameterizations", "covariance,choleksy"], ["did you mean 'cholesky'?"]),
    (["sweep", "--out", "x", "--axs", "target-cond"], ["did you mean --axis?"]),
])
def test_did_you_mean_in_one_line(argv, fragments, capsys):
    assert main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gaussviz: error: "), cap.err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_no_suggestion_when_nothing_is_close(capsys):
    assert main(["run", "--schedule", "zzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_options_added_later_get_the_same_machinery(capsys):
    """A new option (say, an optimizer's) needs only help words: NAME, choices, default and did-you-mean follow."""
    p = Parser(prog="gaussviz")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    r = sub.add_parser("run")
    r.add_argument("--optimizer", choices=["sgd", "adam", "rmsprop"], default="sgd", help="the optimizer")
    r.add_argument("--beta1", type=float, default=0.9, help="first-moment decay")
    finish_help(p)
    opt, beta = r._option_string_actions["--optimizer"], r._option_string_actions["--beta1"]
    assert opt.metavar == "NAME" and "one of: sgd, adam, rmsprop" in opt.help and "(default: sgd)" in opt.help
    assert "(default: 0.9)" in beta.help
    with pytest.raises(Exception, match="did you mean 'adam'"):
        p.parse_args(["run", "--optimizer", "adma"])
    with pytest.raises(Exception, match="did you mean --beta1"):
        p.parse_args(["run", "--beta", "0.8", "--bta1", "3"])


def test_gui_main_takes_a_file_as_the_session(monkeypatch):
    seen = {}
    monkeypatch.setattr("gaussviz.cli.main", lambda argv: seen.setdefault("argv", argv) and 0)
    gui_main(["saved.json"])
    assert seen["argv"] == ["--session", "saved.json"]


WINDOW_LINES = [[], ["--preset", "nope"], ["--prest", "x"], ["rnu"], ["x", "y"], ["--steps", "5"],
                ["--after", "3"], ["--screenshot", "a.png", "--after", "-1"], ["--session"]]


@pytest.mark.parametrize("argv", WINDOW_LINES, ids=" ".join)
def test_a_line_without_a_command_parses_the_same_with_the_commands_as_names_only(argv):
    """A window start builds the commands as names (issue 13: their modules and ~150 options are
    not loaded); what it parses, its errors and its help are the full parser's."""
    from gaussviz.cli.common import UsageError
    from gaussviz.cli.entry import build_parser as build

    out = []
    for full in (True, False):
        try:
            out.append(vars(build(commands=full).parse_args(argv)))
        except UsageError as e:
            out.append(str(e))
    assert out[0] == out[1]
    assert build(commands=True).format_help() == build(commands=False).format_help()


def test_the_window_start_does_not_load_the_commands():
    import json
    import os
    import subprocess
    import sys

    code = ("import json, sys; from gaussviz.cli.entry import build_parser; build_parser(commands=False); "
            "print(json.dumps([m for m in ('gaussviz.cli.run', 'gaussviz.cli.sweep', 'gaussviz.cli.render', "
            "'gaussviz.core.sweep') if m in sys.modules]))")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                       cwd=root, env=dict(os.environ, PYTHONPATH=root))
    assert json.loads(r.stdout) == []
