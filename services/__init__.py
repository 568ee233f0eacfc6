"""livecart's services. Each sub-package is one deployable; they share only `contracts`."""
