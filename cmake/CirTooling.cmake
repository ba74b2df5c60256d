# Compiler warnings, ccache and the shared precompiled header.

# Warnings for cir's own targets: call cir_warnings(target).
function(cir_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()

# ccache when present. Precompiled headers need its sloppiness settings to hit.
find_program(CIR_CCACHE ccache)
if(CIR_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${CIR_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
endif()

# LibTorch targets share one precompiled header of <torch/torch.h>, compiled
# once (cir_torch_pch) and reused by every target that calls
# cir_torch_target(target). Reuse needs identical flags, so libraries and
# programs alike are compiled with -fPIC and the same warnings.
function(cir_torch_target target)
  target_link_libraries(${target} PUBLIC torch)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${target} PRIVATE -fPIC)
  cir_warnings(${target})
  if(NOT target STREQUAL "cir_torch_pch")
    target_precompile_headers(${target} REUSE_FROM cir_torch_pch)
  endif()
endfunction()

function(cir_make_torch_pch)
  add_library(cir_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
  cir_torch_target(cir_torch_pch)
  target_precompile_headers(cir_torch_pch PRIVATE <torch/torch.h>)
endfunction()
