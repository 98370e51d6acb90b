# gxnor-check: test-stage
#
# The checks of the CPU image, run inside it as build steps (`make docker-selftest`
# builds this on the freshly built image, without cache; CI runs it on every run).
# Build steps run where `docker run` / `podman run` cannot start a container, and any
# failing step fails the build. Build context: the repository root, cut down by
# docker/cpu-selftest.Dockerfile.dockerignore (no .venv, build/, run folders, data;
# build/selftest-data/ carries MNIST in when MNIST_DIR is given).
# No digest: IMAGE is the CPU image just built locally.
ARG IMAGE=gxnor:cpu
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${IMAGE}

# Where the copied-in MNIST is (empty: check-reproduction fetches it into datasets/).
# (Not named MNIST_DIR / TEST_WORKERS: an ARG is in the environment of every RUN, and
# an empty TEST_WORKERS there would override the Makefile's default.)
ARG SELFTEST_MNIST=
# pytest workers (empty: one per core, as make test does).
ARG SELFTEST_WORKERS=

COPY . /work/
WORKDIR /work

# 1. the image's own verification: every pin installed, the extras, the imports
#    (pylearn2 included), Lasagne's broadcast pattern and Adam arithmetic.
RUN /opt/gxnor/docker/entrypoint.sh python /opt/gxnor/docker/verify_env.py \
      requirements.txt docker/requirements-extra.txt

# 2. our numbers, reproduced in here: the default MNIST run's first 3 epochs, every
#    printed figure and the weights' checksum, against results/reference.
#    (One step per check, DL3059 notwithstanding: the log names the check that failed.)
# hadolint ignore=DL3059
RUN /opt/gxnor/docker/entrypoint.sh make check-reproduction \
      ${SELFTEST_MNIST:+MNIST_DIR=$SELFTEST_MNIST}

# 3. the tests, against the image's environment (MNIST's real-data tests when given),
#    with the reason of every skipped test in the log (-rs).
# hadolint ignore=DL3059
RUN PYTEST_ADDOPTS=-rs /opt/gxnor/docker/entrypoint.sh make test \
      ${SELFTEST_MNIST:+MNIST_DIR=$SELFTEST_MNIST} ${SELFTEST_WORKERS:+TEST_WORKERS=$SELFTEST_WORKERS}
