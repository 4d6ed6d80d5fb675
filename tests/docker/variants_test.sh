#!/usr/bin/env bash
# The tools each variant's README promises run for the agent under production
# settings (read-only root filesystem, noexec /tmp): Node.js, headless
# Chromium driven by Selenium, the scientific Python stack with PyTorch,
# Ansible and kubectl, ODBC, payment SDKs, gRPC tooling.
#
#   variants_test.sh [VARIANT...]   default: every variant image that exists
#
# Variant images take long to build, so this test does not build them:
# `make images` does, `make smoke-all` runs this after `validate`. With
# SAGEWAI_BUILD_VARIANTS=1 it builds what is missing first.
source "$(dirname "$0")/lib.sh"
require_docker

probe_general='set -e
node -e "console.log(\"node\", 6 * 7)"
npm --version >/dev/null && echo npm
python3 -c "import requests, httpx, bs4, lxml, selenium; print(\"python http/html\")"
chromium --headless=new --no-sandbox --disable-gpu --dump-dom \
  "data:text/html,<p>rendered</p>" 2>/dev/null | grep -o "<p>rendered</p>"
python3 - <<PY
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
opts = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu"):
    opts.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
d.get("data:text/html,<title>selenium ok</title>")
print(d.title)
d.quit()
PY
aws --version 2>&1 | cut -d/ -f1'
expect_general='node 42
npm
python http/html
<p>rendered</p>
selenium ok
aws-cli'

probe_ml='set -e
python3 - <<PY
import numpy, pandas, scipy, sklearn, jupyter_client, matplotlib
import matplotlib.pyplot as plt
from sklearn.linear_model import LinearRegression
x = numpy.arange(10).reshape(-1, 1)
print("sklearn", round(LinearRegression().fit(x, 2 * x.ravel() + 1).coef_[0], 3))
print("pandas", pandas.DataFrame({"a": [1, 2, 3]}).a.sum())
plt.plot([1, 2, 3]); plt.savefig("/tmp/plot.png"); print("matplotlib", matplotlib.get_backend())
import torch
print("torch", torch.tensor([1.0, 2.0]).sum().item(), torch.cuda.is_available())
PY'
expect_ml='sklearn 2.0
pandas 6
matplotlib agg
torch 3.0 False'

probe_ops='set -e
ssh -V 2>&1 | cut -d_ -f1
rsync --version | head -n1 | tr -s " " | cut -d" " -f1-2
ansible localhost -c local -m ping 2>/dev/null | grep -o "\"ping\": \"pong\""
kubectl version --client 2>/dev/null | grep -o "Client Version" | head -n1
python3 -c "import kubernetes, boto3; print(\"python clients\")"'
expect_ops='OpenSSH
rsync version
"ping": "pong"
Client Version
python clients'

probe_erp='set -e
odbcinst -q -d | sort
python3 -c "import pyodbc, requests_oauthlib, zeep, openpyxl; print(\"pyodbc\", pyodbc.drivers() != [])"'
expect_erp='[FreeTDS]
[PostgreSQL ANSI]
[PostgreSQL Unicode]
pyodbc True'

probe_ecommerce='set -e
python3 -c "import stripe, braintree, boto3, babel.numbers, moneyed, pycountry
print(babel.numbers.format_currency(12.5, \"EUR\", locale=\"de_DE\").replace(\"\\xa0\", \" \"))
print(pycountry.countries.get(alpha_2=\"JP\").name)"'
expect_ecommerce='12,50 €
Japan'

probe_api='set -e
http --version >/dev/null && echo httpie
wrk --version 2>&1 | head -n1 | cut -d" " -f1
printf "syntax = \"proto3\";\nmessage Ping { string s = 1; }\n" > /tmp/p.proto
protoc -I/tmp --python_out=/tmp /tmp/p.proto && echo protoc
python3 -m grpc_tools.protoc -I/tmp --python_out=/tmp --grpc_python_out=/tmp /tmp/p.proto && echo grpc_tools
python3 -c "import grpc, jsonschema; jsonschema.validate(1, {\"type\": \"integer\"}); print(\"grpc jsonschema\")"'
expect_api='httpie
wrk
protoc
grpc_tools
grpc jsonschema'

variants=("$@")
if ((${#variants[@]} == 0)); then
  for v in general ml ops erp ecommerce api; do
    if [[ ${SAGEWAI_BUILD_VARIANTS:-0} == 1 ]] ||
      docker image inspect "$(sagewai_image_tag "$v")" >/dev/null 2>&1; then
      variants+=("$v")
    fi
  done
fi
if ((${#variants[@]} == 0)); then
  echo "SKIP: no variant image is built (make images, or SAGEWAI_BUILD_VARIANTS=1)"
  exit "$SAGEWAI_SKIP_CODE"
fi

for v in "${variants[@]}"; do
  if [[ ${SAGEWAI_BUILD_VARIANTS:-0} == 1 ]]; then require_image "$v"; fi
  IMAGE=$(sagewai_image_tag "$v")
  probe=probe_$v expect=expect_$v
  [[ -n ${!probe:-} ]] || sagewai_die "no probe for variant $v"
  cid=$(start_container "${PRODUCTION_OPTS[@]}" --pids-limit 512)
  wait_serving "$cid" || fail "$IMAGE: runner did not start"
  expect_eq "$IMAGE: tools" "${!expect}" "$(stdio_call "$cid" "${!probe}" 120 | json_str stdout)"
  expect_eq "$IMAGE: README is the variant's" yes "$(docker exec "$cid" sh -c \
    "readlink /usr/share/doc/sagewai/README.md | grep -qx $v.md && echo yes")"
  docker rm -f "$cid" >/dev/null
done
finish
