# Link targets for Debian's static archives of gRPC, protobuf, Abseil,
# libcap-ng and libcrypto. The in-container binaries link fully static
# (-static); tests link the same archives into ordinary executables.
include_guard(GLOBAL)

set(_sagewai_libdir "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}")

function(_sagewai_static_archive out name)
  find_library(_lib_${name} NAMES lib${name}.a PATHS ${_sagewai_libdir} NO_DEFAULT_PATH)
  if(NOT _lib_${name})
    find_library(_lib_${name} NAMES lib${name}.a)
  endif()
  if(NOT _lib_${name})
    message(FATAL_ERROR "lib${name}.a not found: run scripts/install-deps.sh")
  endif()
  set(${out} ${_lib_${name}} PARENT_SCOPE)
endfunction()

foreach(_name grpc++_reflection grpc++_unsecure grpc_unsecure gpr upb address_sorting
              protobuf re2 cares z cap-ng)
  _sagewai_static_archive(_path ${_name})
  list(APPEND _sagewai_grpc_archives ${_path})
endforeach()
file(GLOB _sagewai_absl_archives "${_sagewai_libdir}/libabsl_*.a")
if(NOT _sagewai_absl_archives)
  message(FATAL_ERROR "Abseil static archives not found: run scripts/install-deps.sh")
endif()

find_package(Threads REQUIRED)

# Abseil alone (status, strings, time) for code that does not need gRPC.
add_library(sagewai_absl INTERFACE)
target_link_libraries(sagewai_absl INTERFACE
  -Wl,--start-group ${_sagewai_absl_archives} -Wl,--end-group Threads::Threads)
add_library(sagewai::absl ALIAS sagewai_absl)

# gRPC + protobuf + Abseil + their C dependencies, one link group so that the
# archives' order does not matter.
add_library(sagewai_grpc INTERFACE)
target_link_libraries(sagewai_grpc INTERFACE
  -Wl,--start-group ${_sagewai_grpc_archives} ${_sagewai_absl_archives} -Wl,--end-group
  Threads::Threads)
add_library(sagewai::grpc ALIAS sagewai_grpc)

# libcrypto for SHA-256 only (common/sha256.cc): its SHA256_* calls add the
# hash code and CPU dispatch, not OpenSSL's providers.
_sagewai_static_archive(_crypto crypto)
add_library(sagewai_crypto INTERFACE)
target_link_libraries(sagewai_crypto INTERFACE ${_crypto} Threads::Threads)
add_library(sagewai::crypto ALIAS sagewai_crypto)

_sagewai_static_archive(_capng cap-ng)
add_library(sagewai_capng INTERFACE)
target_link_libraries(sagewai_capng INTERFACE ${_capng})
add_library(sagewai::capng ALIAS sagewai_capng)

# A fully static, size-trimmed executable for use inside containers.
function(sagewai_static_executable target)
  if(SAGEWAI_SANITIZE)
    # ASan's runtime cannot be linked statically: a sanitizer build is for
    # the tests on this machine, never for images.
    target_link_options(${target} PRIVATE -Wl,--gc-sections)
    return()
  endif()
  target_link_options(${target} PRIVATE -static -Wl,--gc-sections)
  # glibc's static NSS warnings (getaddrinfo etc.) are expected: we never
  # resolve users or hosts through NSS.
  target_link_options(${target} PRIVATE -Wl,--no-warn-mismatch)
endfunction()
