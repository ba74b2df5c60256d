# Finds the CUDA runtime and NCCL for the optional NCCL backend. NCCL sits in
# the CUDA toolkit (/usr/local/cuda/include/nccl.h), in /usr/include from the
# libnccl-dev package, or in the folder of PyTorch's nvidia-nccl wheel
# (site-packages/nvidia/nccl, whose lib/ holds only libnccl.so.2); NCCL_ROOT
# names that folder and is searched first.
find_package(CUDAToolkit REQUIRED)
find_path(NCCL_INCLUDE_DIR nccl.h
  HINTS ${NCCL_ROOT} ENV NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS} ${CUDAToolkit_LIBRARY_ROOT}
  PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
  HINTS ${NCCL_ROOT} ENV NCCL_ROOT ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}
  PATH_SUFFIXES lib lib64)
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  message(FATAL_ERROR "CIR_WITH_NCCL=ON but NCCL was not found: set NCCL_ROOT to the folder holding include/nccl.h and lib/libnccl.so (for PyTorch's wheel: python3 -c 'import nvidia.nccl; print(nvidia.nccl.__path__[0])')")
endif()
add_library(cir_nccl_deps INTERFACE)
target_include_directories(cir_nccl_deps SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
target_link_libraries(cir_nccl_deps INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
message(STATUS "cir: NCCL ${NCCL_LIBRARY}")
