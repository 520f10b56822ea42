"""The command line: ``python -m grader grade PATH... --out DIR`` and friends.

Exit status: 0 when grading finished, whatever the scores; otherwise the
:class:`~grader.errors.GraderError` exit code, after one line saying what went wrong.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import NoReturn

from grader._text import terminal
from grader.errors import GraderError, UsageError
from grader.grade import GradingOptions, grade
from grader.sandbox import Limits

__all__ = ["main"]


def _help(cls: type, name: str) -> str:
    """The help text of an option: the docstring under the dataclass field of that name."""
    return _field_docs(cls).get(name, "")


@cache
def _field_docs(cls: type) -> dict[str, str]:
    """Every documented field of the dataclass ``cls``: its name → its docstring, one line.

    The module's source is parsed once per class (``inspect.getsource`` would walk the whole
    module's syntax tree again for every option, a third of ``progress``'s start-up).
    """
    import ast
    import inspect

    tree = ast.parse(Path(inspect.getfile(cls)).read_text(encoding="utf-8"))
    body = next(node.body for node in tree.body
                if isinstance(node, ast.ClassDef) and node.name == cls.__name__)
    docs = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)):
            docs[node.target.id] = " ".join(str(following.value.value).split())
    return docs


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line, as the contract asks."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m grader", description="Grade strided-convolution notebooks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    defaults = Limits()

    grade_cmd = commands.add_parser(
        "grade", help="grade notebooks, student folders, class folders or .zip files",
        description="Grade a notebook, a student's folder, a folder of student folders "
        "(nbgrader's submitted/ included) or a .zip of them. Writes DIR/<student>/results.json "
        "(Gradescope's format), DIR/<student>/feedback.md and DIR/gradebook.csv.")
    grade_cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    grade_cmd.add_argument("--out", type=Path, required=True, metavar="DIR",
                           help=_help(GradingOptions, "out"))
    grade_cmd.add_argument("--seed", type=int, help=_help(GradingOptions, "seed"))
    grade_cmd.add_argument("--jobs", type=int, help=_help(GradingOptions, "jobs")
                           + f" (default: {GradingOptions(out=Path()).jobs}, the cores here)")
    grade_cmd.add_argument("--notebook", action="append", default=[], metavar="NAME",
                           help=_help(GradingOptions, "notebooks") + " Repeat for several; "
                           "a unique beginning of the name will do (--notebook 02).")
    grade_cmd.add_argument("--time-per-submission", type=float, metavar="SECONDS",
                           help=_help(GradingOptions, "time_per_submission")
                           + f" (default: {GradingOptions(out=Path()).time_per_submission:g})")
    grade_cmd.add_argument("--step-timeout", type=float, metavar="SECONDS",
                           default=defaults.step_seconds, help=_help(Limits, "step_seconds") + " (default: %(default)s)")
    grade_cmd.add_argument("--cpu-limit", type=int, metavar="SECONDS",
                           default=defaults.cpu_seconds, help=_help(Limits, "cpu_seconds") + " (default: %(default)s)")
    grade_cmd.add_argument("--memory-limit", type=int, metavar="MB",
                           default=defaults.memory_bytes // 2**20, help=_help(Limits, "memory_bytes") + " (default: %(default)s)")
    grade_cmd.add_argument("--allow-unsandboxed", action="store_true",
                           help=_help(GradingOptions, "allow_unsandboxed"))
    grade_cmd.add_argument("--fresh", action="store_true", help=_help(GradingOptions, "fresh"))
    grade_cmd.add_argument("--student", metavar="NAME", help=_help(GradingOptions, "student"))
    grade_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    grade_cmd.add_argument("--scheduler", metavar="ADDRESS", help=_help(GradingOptions, "scheduler")
                           + " (tcp://host:8786). Each worker needs this course's requirements and "
                           "bubblewrap.")
    grade_cmd.add_argument("--shard", type=_shard, metavar="I/N", help=_help(GradingOptions, "shard"))

    merged = commands.add_parser(
        "merge", help="combine folders graded with --shard i/n into one",
        description="Combine the output folders of a class graded in shards (--shard i/n, "
        "with one --seed) into one folder with one gradebook.")
    merged.add_argument("shards", nargs="+", type=Path, metavar="SHARD_DIR")
    merged.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="Folder for the merged gradebook.csv, class report and every "
                             "student's results (may be new; not one of the shards).")

    course = commands.add_parser(
        "nbgrader-course", help="lay out an nbgrader course folder, one assignment per notebook",
        description="Create (or refresh) an nbgrader course folder whose nbgrader_config.py "
        "loads this repository's; then use nbgrader's own commands in it.")
    course.add_argument("directory", type=Path, metavar="DIR")

    bundle = commands.add_parser(
        "gradescope-bundle", help="write the Gradescope autograder zip (setup.sh, run_autograder)")
    bundle.add_argument("--out", type=Path, default=Path("gradescope-autograder.zip"),
                        metavar="ZIP", help="where to write the zip (default: %(default)s)")
    bundle.add_argument("--notebook", action="append", default=[], metavar="NAME",
                        help="the notebook(s) of this assignment (--notebook 02); an upload of "
                        "another notebook is then reported, not graded. Default: every course "
                        "notebook an upload holds")

    progress = commands.add_parser(
        "progress", help="a learner's progress: every exercise passed, failing or not started",
        description="Run the public tests of every saved notebook in FOLDER and print a table "
        "of the course's exercises. This runs the notebooks' code: in a bubblewrap sandbox, or, "
        "where bubblewrap cannot run, only with --run-unsandboxed.")
    progress.add_argument("folder", type=Path, nargs="?", default=Path("notebooks"),
                          metavar="FOLDER", help="where your notebooks are (default: notebooks)")
    progress.add_argument("--run-unsandboxed", action="store_true",
                          help="where bubblewrap cannot run, run the notebooks' code anyway, "
                          "with your permissions (only for notebooks you wrote yourself)")

    run = commands.add_parser(
        "gradescope-run", help="inside Gradescope: grade ROOT/submission into ROOT/results")
    run.add_argument("root", type=Path, nargs="?", default=Path("/autograder"), metavar="ROOT")
    checked = commands.add_parser(
        "gradescope-check", help="inside Gradescope's setup.sh: say how student code will run")
    checked.add_argument("root", type=Path, nargs="?", default=Path("/autograder"), metavar="ROOT")
    return parser


def _shard(text: str) -> tuple[int, int]:
    """``"2/3"`` → ``(2, 3)``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give the shard as i/n, e.g. 2/3") from None
    return index, count


def _grade(args: argparse.Namespace) -> int:
    limits = Limits(cpu_seconds=args.cpu_limit, memory_bytes=args.memory_limit * 2**20,
                    step_seconds=args.step_timeout)
    given = {
        "seed": args.seed, "jobs": args.jobs, "time_per_submission": args.time_per_submission,
    }
    options = GradingOptions(
        out=args.out, notebooks=tuple(args.notebook), limits=limits,
        allow_unsandboxed=args.allow_unsandboxed, fresh=args.fresh, progress=not args.quiet,
        student=args.student, scheduler=args.scheduler, shard=args.shard,
        **{k: v for k, v in given.items() if v is not None},
    )
    summary = grade(args.paths, options)
    print(f"Graded {summary.graded} submission(s)"
          + (f", {summary.reused} already up to date" if summary.reused else "")
          + f"; seed {summary.seed}; results in {terminal(summary.out)}, "
          f"gradebook {terminal(summary.gradebook)}, class report "
          f"{terminal(summary.gradebook.parent / 'report.html')}.")
    if summary.notes:
        print("Passed over, merged or left out:")
        for note in summary.notes:
            print(f"  - {terminal(note)}")
    if not summary.sandbox.startswith("bubblewrap"):
        print(f"Note: {terminal(summary.sandbox)}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; SIGTERM and SIGHUP (a service stop, ``timeout``, a closed terminal)
    stop it as Ctrl-C does, so its workers stop and its temporary files go."""
    args = _parser().parse_args(argv)
    handled = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():
        handled = []  # only the main thread may set handlers (main() called from a thread)
    before = {number: signal.signal(number, _interrupt) for number in handled}
    try:
        return _run(args)
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "grade":
            return _grade(args)
        if args.command == "merge":
            from grader.merge import merge

            merged = merge(args.shards, args.out)
            missing = (f"; shards {', '.join(map(str, merged.missing))} are missing"
                       if merged.missing else "")
            print(f"Merged {merged.shards} shard(s): {merged.students} students in "
                  f"{terminal(merged.out)}, gradebook {terminal(merged.gradebook)}{missing}.")
            return 0
        if args.command == "nbgrader-course":
            from grader.nbgrader_course import create_course

            names = create_course(args.directory)
            directory = terminal(args.directory)
            print(f"nbgrader course in {directory}: assignments {terminal(', '.join(names))}.\n"
                  f"Next: cd {directory} && nbgrader generate_assignment {terminal(names[0])}")
            return 0
        if args.command == "progress":
            from grader.progress import course_progress, format_progress

            found = course_progress(args.folder, run_unsandboxed=args.run_unsandboxed)
            print(format_progress(found.items, found.isolation, found.notes))
            return 0
        if args.command == "gradescope-bundle":
            from grader.gradescope import build_bundle

            path = build_bundle(args.out, args.notebook)
            print(f"Wrote {terminal(path)}: upload it as the Gradescope autograder (choose "
                  "the Ubuntu 24.04 base image).")
            return 0
        if args.command == "gradescope-check":
            from grader.gradescope import check_setup

            return check_setup(args.root)
        if args.command == "gradescope-run":
            from grader.gradescope import run_in_gradescope

            return run_in_gradescope(args.root)
        raise UsageError(f"unknown command {args.command}")
    except GraderError as error:
        print(f"python -m grader {args.command}: error: {terminal(error)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as interrupt:
        print(f"python -m grader {args.command}: interrupted; finished students are saved, "
              "run the same command again to resume", file=sys.stderr)
        name = interrupt.args[0] if interrupt.args else "SIGINT"
        return 128 + getattr(signal, str(name), signal.SIGINT)  # 130 for Ctrl-C

