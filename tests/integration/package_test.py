#!/usr/bin/python3
"""The Debian package CPack builds, and its life on this machine.

- `cpack -G DEB` builds tickrelay_<version>_<arch>.deb from the build tree.
- `dpkg-deb -c` lists the programs in /usr/bin, the config in /etc/tickrelay,
  the units in the systemd unit directory, the sysusers.d entry, the README;
  the control data has Depends computed by dpkg-shlibdeps plus adduser, the
  maintainer scripts, and the files under /etc/tickrelay as conffiles.
- The packaged programs target the x86-64 baseline: `objdump -d` finds no
  AVX, AVX2, AVX-512 or BMI instruction in them (a package built on a newer
  CPU must not die with SIGILL on an older one).
- As root, with no tickrelay installed: `dpkg -i` installs it (creating the
  tickrelay user and letting its group read /etc/tickrelay), the installed
  units pass `systemd-analyze verify` with their real paths and rate well
  in `systemd-analyze security`, the service user can read and validate
  the config, an upgrade keeps an edited
  tickrelayd.yaml, and `dpkg --purge` takes it all away again. The user is
  deleted afterwards if this test created it, so the machine is as before.

Run: package_test.py --source-dir . --build-dir build
Exit 77 (skipped) when dpkg-deb or cpack are missing.
"""

import argparse
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

TIMEOUT_S = 300
# As in systemd_units_test.py: systemd-analyze security's "OK" band.
MAX_EXPOSURE = 2.0
SKIP = 77
ARGS = None
CONFFILES = ["/etc/tickrelay/tickrelayd.yaml", "/etc/tickrelay/usdt-pairs.txt", "/etc/tickrelay/load/example.env"]


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, **kwargs)


def unit_dir():
    out = run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"]).stdout.strip()
    return out or "/lib/systemd/system"


# What a baseline x86-64 program never contains: ymm/zmm registers (AVX,
# AVX2, AVX-512), AVX-512 mask registers, and VEX/EVEX-encoded mnemonics:
# the AVX "v" forms (vmovdqu, vpxor, vzeroupper, ... on xmm too) and the
# BMI1/BMI2 integer ones -march=haswell emits for shifts and bit tricks.
AVX_OPERAND = re.compile(r"%[yz]mm[0-9]+|%k[0-7]\b")
VEX_MNEMONICS = re.compile(r"^(v(?!err|erw)[a-z0-9]+|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx)$")


def vector_extension_instructions(path, limit=5):
    """The first few AVX/AVX2/AVX-512/BMI instructions in `path`'s code."""
    found = []
    dump = subprocess.Popen(["objdump", "-d", "--no-show-raw-insn", "--no-addresses", path], stdout=subprocess.PIPE,
                            text=True)
    for line in dump.stdout:
        # "\tvmovdqu %ymm0,(%rdi)": mnemonic, then operands.
        parts = line.strip().split(None, 1)
        if not parts or line[0] != "\t":
            continue
        if VEX_MNEMONICS.match(parts[0]) or (len(parts) > 1 and AVX_OPERAND.search(parts[1])):
            found.append(line.strip())
            if len(found) >= limit:
                break
    dump.stdout.close()
    dump.kill()
    dump.wait()
    return found


def built(name):
    return os.access(os.path.join(ARGS.build_dir, "bin", name), os.X_OK)


class Package(unittest.TestCase):
    deb = None
    tmp = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tickrelay-deb-")
        result = run(["cpack", "-G", "DEB", "--config", os.path.join(ARGS.build_dir, "CPackConfig.cmake"),
                      "-B", cls.tmp])
        debs = glob.glob(os.path.join(cls.tmp, "tickrelay_*.deb"))
        if result.returncode != 0 or len(debs) != 1:
            raise RuntimeError("cpack failed:\n" + result.stdout + result.stderr)
        cls.deb = debs[0]
        print("built", os.path.basename(cls.deb))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, name, deb=None):
        return run(["dpkg-deb", "-f", deb or self.deb, name]).stdout.strip()

    def test_contents(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout
        paths = {line.split()[-1].lstrip(".") for line in listing.splitlines() if line}
        units = unit_dir()
        expected = {"/usr/bin/tickrelayd", "/usr/bin/tickrelay-sim", "/etc/tickrelay/tickrelayd.yaml",
                    "/etc/tickrelay/usdt-pairs.txt", "/etc/tickrelay/load/example.env",
                    units + "/tickrelayd.service", units + "/tickrelayd.socket",
                    units + "/tickrelay-load@.service", "/usr/lib/sysusers.d/tickrelay.conf",
                    "/usr/share/doc/tickrelay/README.md"}
        if built("tickrelay-load"):
            expected.add("/usr/bin/tickrelay-load")
        if os.path.isdir(os.path.join(ARGS.source_dir, "grafana")):
            expected.add("/usr/share/tickrelay/grafana/")
        for folder in ("prometheus", "haproxy", "kubernetes"):
            if os.path.isdir(os.path.join(ARGS.source_dir, "deploy", folder)):
                expected.add(f"/usr/share/tickrelay/{folder}/")
        self.assertEqual(expected - paths, set(), listing)
        # Nothing from the build or test tree.
        self.assertEqual([p for p in paths if "test" in p or "/build/" in p], [])

    def test_control(self):
        self.assertEqual(self.field("Package"), "tickrelay")
        depends = self.field("Depends")
        for dep in ("adduser", "libc6", "libssl3", "libsystemd0", "libspdlog"):
            self.assertIn(dep, depends)
        control = os.path.join(self.tmp, "control")
        run(["dpkg-deb", "-e", self.deb, control])
        with open(os.path.join(control, "conffiles"), encoding="utf-8") as f:
            self.assertEqual(f.read().split(), CONFFILES)
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(control, script), os.X_OK), script)
            check = run(["sh", "-n", os.path.join(control, script)])
            self.assertEqual(check.returncode, 0, check.stderr)
        # The unit inside names the packaged paths.
        tree = os.path.join(self.tmp, "tree")
        run(["dpkg-deb", "-x", self.deb, tree])
        with open(tree + unit_dir() + "/tickrelayd.service", encoding="utf-8") as f:
            self.assertIn("ExecStart=/usr/bin/tickrelayd --config /etc/tickrelay/tickrelayd.yaml\n", f.read())

    def test_programs_target_the_x86_64_baseline(self):
        if shutil.which("objdump") is None:
            self.skipTest("objdump (binutils) is not installed")
        if self.field("Architecture") != "amd64":
            self.skipTest("only amd64 packages are checked")
        tree = os.path.join(self.tmp, "baseline")
        run(["dpkg-deb", "-x", self.deb, tree])
        programs = sorted(glob.glob(os.path.join(tree, "usr", "bin", "*")))
        self.assertIn("tickrelayd", [os.path.basename(p) for p in programs])
        for program in programs:
            with self.subTest(program=os.path.basename(program)):
                self.assertEqual(vector_extension_instructions(program), [],
                                 "AVX/BMI code in a package: was the build configured with TICKRELAY_ARCH?")

    def upgrade_of(self, deb):
        """The same package with a higher version: an upgrade for dpkg."""
        tree = os.path.join(self.tmp, "upgrade")
        self.assertEqual(run(["dpkg-deb", "-R", deb, tree]).returncode, 0)
        control = os.path.join(tree, "DEBIAN", "control")
        with open(control, encoding="utf-8") as f:
            text = f.read()
        version = self.field("Version", deb)
        with open(control, "w", encoding="utf-8") as f:
            f.write(text.replace("Version: " + version, "Version: " + version + "+upgrade1"))
        out = os.path.join(self.tmp, "tickrelay-upgrade.deb")
        result = run(["dpkg-deb", "--root-owner-group", "-b", tree, out])
        self.assertEqual(result.returncode, 0, result.stderr)
        return out

    def test_install_upgrade_purge_on_this_machine(self):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root")
        if run(["dpkg-query", "-W", "-f=${Status}", "tickrelay"]).stdout.startswith("install"):
            self.skipTest("a tickrelay package is already installed here; not touching it")
        if os.path.exists("/usr/bin/tickrelayd") or os.path.exists("/etc/tickrelay"):
            self.skipTest("/usr/bin/tickrelayd or /etc/tickrelay exists outside the package manager")
        try:
            pwd.getpwnam("tickrelay")
            user_existed = True
        except KeyError:
            user_existed = False
        group_existed = run(["getent", "group", "tickrelay"]).returncode == 0
        try:
            self.install_upgrade_purge()
        finally:
            if run(["dpkg-query", "-W", "-f=${Status}", "tickrelay"]).stdout.startswith("install"):
                run(["dpkg", "--purge", "tickrelay"])
            if not user_existed:
                run(["userdel", "tickrelay"])
            if not group_existed and run(["getent", "group", "tickrelay"]).returncode == 0:
                run(["groupdel", "tickrelay"])

    def install_upgrade_purge(self):
        result = run(["dpkg", "-i", self.deb])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        # The service user exists, without a login, and its group reads the config.
        user = pwd.getpwnam("tickrelay")
        self.assertLess(user.pw_uid, 1000)
        self.assertIn(user.pw_shell, ("/usr/sbin/nologin", "/bin/false"))
        self.assertEqual(run(["dpkg-statoverride", "--list", "/etc/tickrelay"]).stdout.split(),
                         ["root", "tickrelay", "750", "/etc/tickrelay"])
        st = os.stat("/etc/tickrelay")
        self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o750, user.pw_gid))
        check = run(["runuser", "-u", "tickrelay", "--", "/usr/bin/tickrelayd", "--check-config",
                     "/etc/tickrelay/tickrelayd.yaml"])
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("346 stream(s)", check.stdout)
        # The installed units, with their real paths, pass verify.
        units = [os.path.join(unit_dir(), u) for u in ("tickrelayd.service", "tickrelayd.socket")]
        if os.path.exists("/usr/bin/tickrelay-load"):
            units.append("tickrelay-load@example.service")
        result = run(["systemd-analyze", "verify"] + units)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("tickrelay", result.stdout + result.stderr)
        # And the installed service, where systemd reads it, rates as the shipped file does.
        result = run(["systemd-analyze", "security", "--offline=true", "--no-pager", "tickrelayd.service"])
        match = re.search(r"Overall exposure level for tickrelayd.service: ([0-9.]+)", result.stdout)
        self.assertIsNotNone(match, result.stdout + result.stderr)
        print("installed: systemd-analyze security --offline=true tickrelayd.service:", match.group(1))
        self.assertLessEqual(float(match.group(1)), MAX_EXPOSURE)
        conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "tickrelay"]).stdout.split()
        for path in CONFFILES:
            self.assertIn(path, conffiles)

        # The operator edits the config; an upgrade keeps the edit, asking nothing.
        with open("/etc/tickrelay/tickrelayd.yaml", "a", encoding="utf-8") as f:
            f.write("# edited by the operator\n")
        result = run(["dpkg", "-i", self.upgrade_of(self.deb)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(self.field("Version", self.deb) + "+upgrade1" in
                        run(["dpkg-query", "-W", "-f=${Version}", "tickrelay"]).stdout)
        with open("/etc/tickrelay/tickrelayd.yaml", encoding="utf-8") as f:
            self.assertTrue(f.read().endswith("# edited by the operator\n"))
        self.assertFalse(os.path.exists("/etc/tickrelay/tickrelayd.yaml.dpkg-new"))
        self.assertEqual(run(["dpkg-statoverride", "--list", "/etc/tickrelay"]).stdout.split()[:3],
                         ["root", "tickrelay", "750"])

        result = run(["dpkg", "--purge", "tickrelay"])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for path in ["/usr/bin/tickrelayd", "/etc/tickrelay", os.path.join(unit_dir(), "tickrelayd.service")]:
            self.assertFalse(os.path.exists(path), path)
        self.assertEqual(run(["dpkg-statoverride", "--list", "/etc/tickrelay"]).stdout, "")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
        if shutil.which(tool) is None:
            print("SKIP: %s is not installed" % tool)
            return SKIP
    program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
