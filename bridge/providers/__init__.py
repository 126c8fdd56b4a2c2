"""Calendar providers: the interface the sync core speaks (:mod:`bridge.providers.base`)."""
