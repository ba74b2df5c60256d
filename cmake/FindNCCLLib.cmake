# Finds the CUDA runtime and NCCL for the optional NCCL backend. NCCL usually
# sits inside the CUDA toolkit (/usr/local/cuda/include/nccl.h) or in
# /usr/include from the libnccl-dev package; NCCL_ROOT overrides both.
find_package(CUDAToolkit REQUIRED)
find_path(NCCL_INCLUDE_DIR nccl.h
  HINTS ${NCCL_ROOT} ENV NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}
  PATH_SUFFIXES include)
find_library(NCCL_LIBRARY nccl
  HINTS ${NCCL_ROOT} ENV NCCL_ROOT ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}
  PATH_SUFFIXES lib lib64)
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  message(FATAL_ERROR "CIR_WITH_NCCL=ON but NCCL was not found: set NCCL_ROOT to the folder holding include/nccl.h and lib/libnccl.so")
endif()
add_library(cir_nccl_deps INTERFACE)
target_include_directories(cir_nccl_deps SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
target_link_libraries(cir_nccl_deps INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
message(STATUS "cir: NCCL ${NCCL_LIBRARY}")
