# Container images (included by the top-level Makefile).
#   make images            all seven sandbox-<variant>:<version> images
#   make image-<variant>   one variant and, when missing, its parents (e.g. image-base)
#   make image-byo         the two BYO examples of dockerfiles/byo
#   make image-sizes       the size of each built image
#   make smoke-all         `sagewai-sandbox validate` against every variant, then
#                          the variants' tool checks (tests/docker/variants_test.sh)
# scripts/build-images.sh does the work; it starts a Docker engine and
# provides the Debian base image when needed.

SAGEWAI_VARIANTS := base general ml ops erp ecommerce api
SAGEWAI_IMAGE_VERSION := $(shell sed -nE 's/^project\([^)]*VERSION[[:space:]]+([0-9.]+).*/\1/p' CMakeLists.txt)
SAGEWAI_CLI ?= $(or $(BUILD_DIR),build)/bin/sagewai-sandbox

.PHONY: images image-sizes image-byo smoke-all smoke-cli $(addprefix image-,$(SAGEWAI_VARIANTS)) \
        $(addprefix smoke-,$(SAGEWAI_VARIANTS))

images:
	@scripts/build-images.sh $(SAGEWAI_VARIANTS)

$(addprefix image-,$(SAGEWAI_VARIANTS)) image-byo: image-%:
	@scripts/build-images.sh $*

image-sizes:
	@scripts/build-images.sh --sizes

# The validate command of the host CLI against each image (both built first).
smoke-cli: configure
	cmake --build $(or $(BUILD_DIR),build) -j $(or $(JOBS),2) --target sagewai-sandbox

$(addprefix smoke-,$(SAGEWAI_VARIANTS)): smoke-%: smoke-cli
	@scripts/build-images.sh $*
	$(SAGEWAI_CLI) validate sandbox-$*:$(SAGEWAI_IMAGE_VERSION)

smoke-all: smoke-cli images
	@set -e; for v in $(SAGEWAI_VARIANTS); do \
	  echo "== sandbox-$$v:$(SAGEWAI_IMAGE_VERSION)"; \
	  $(SAGEWAI_CLI) validate sandbox-$$v:$(SAGEWAI_IMAGE_VERSION); \
	done
	@tests/docker/variants_test.sh general ml ops erp ecommerce api
