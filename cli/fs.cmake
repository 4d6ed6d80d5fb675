# `sagewai-sandbox fs` (put, cat, ls, stat, mkdir, rm, mv).
if(TARGET sagewai_cli_fs)
  return()
endif()
