// Compiles the precompiled header that every LibTorch target of cir reuses.
