#!/usr/bin/env python3
"""The components' include graph runs one way: relay -> fanout -> observe -> wire.

Reads every C++ file under lib/, the programs' folders and tests/, and checks
that a file includes only the public headers (tickrelay/<component>/...) of
the components it may depend on, and never another component's src/. The
programs may use only what they link: the load client wire and observe, the
simulator fanout and below, tickrelayd relay and below.
"""
import argparse
import pathlib
import re
import sys
import unittest

# Each component and what it may include; the order is the dependency order.
LAYERS = ["wire", "observe", "fanout", "relay"]
ALLOWED = {name: set(LAYERS[: i + 1]) for i, name in enumerate(LAYERS)}
PROGRAMS = {"client": {"wire", "observe"}, "sim": {"wire", "observe", "fanout"}, "daemon": set(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE = None


def cpp_files(folder):
    return sorted(p for p in folder.rglob("*") if p.suffix in (".cpp", ".hpp") and "node_modules" not in p.parts)


def includes(path):
    return INCLUDE.findall(path.read_text(encoding="utf-8"))


def component_of(include):
    parts = include.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tickrelay" else None


class IncludeGraphTest(unittest.TestCase):
    def test_components_include_only_the_layers_below_them(self):
        bad = []
        for name in LAYERS:
            root = SOURCE / "lib" / name
            self.assertTrue(root.is_dir(), root)
            for path in cpp_files(root):
                for inc in includes(path):
                    other = component_of(inc)
                    if other is None:
                        # A private header: it must be this component's own.
                        here = [root / "src" / inc, path.parent / inc, root / "tests" / inc]
                        if root / "tests" in path.parents:
                            here.append(SOURCE / "tests" / "support" / inc)  # the suites' shared helpers
                        if not any(p.is_file() for p in here):
                            bad.append(f"{path.relative_to(SOURCE)}: \"{inc}\" is not in lib/{name}/src")
                    elif other not in ALLOWED[name]:
                        bad.append(f"{path.relative_to(SOURCE)}: {name} must not include {inc}")
        self.assertEqual(bad, [])

    def test_programs_include_only_what_they_link(self):
        bad = []
        for program, allowed in PROGRAMS.items():
            folder = SOURCE / program
            for path in cpp_files(folder):
                for inc in includes(path):
                    other = component_of(inc)
                    if other is None:
                        if not (path.parent / inc).is_file():
                            bad.append(f"{path.relative_to(SOURCE)}: \"{inc}\" is not the program's own header")
                    elif other not in allowed:
                        bad.append(f"{path.relative_to(SOURCE)}: {program} must not include {inc}")
        self.assertEqual(bad, [])

    def test_nothing_outside_a_component_reaches_into_its_src(self):
        bad = []
        for path in cpp_files(SOURCE / "tests") + cpp_files(SOURCE / "bench"):
            for inc in includes(path):
                if "/src/" in inc or inc.startswith("src/"):
                    bad.append(f"{path.relative_to(SOURCE)}: {inc}")
        self.assertEqual(bad, [])

    def test_the_checker_sees_a_violation(self):
        # A file of fanout's that included the relay would be refused.
        self.assertNotIn("relay", ALLOWED["fanout"])
        self.assertEqual(component_of("tickrelay/relay/app.hpp"), "relay")
        self.assertIsNone(component_of("send_queue.hpp"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    args, rest = parser.parse_known_args()
    SOURCE = pathlib.Path(args.source_dir).resolve()
    unittest.main(argv=[sys.argv[0]] + rest)
