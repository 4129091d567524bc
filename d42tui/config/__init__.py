"""The config file as typed data: `load_config(path)` → `LoadedConfig(config, warnings)`.

The models (pydantic) load on first use of a name, so that start-up paths that only need
`ConfigError` or a duration stay light.
"""

from .._lazy import lazy_attributes
from .errors import ConfigError

__getattr__ = lazy_attributes(__name__, {
    name: "models" for name in ("Config", "PairConfig", "ApplianceConfig", "TlsConfig",
                                "PollConfig", "Thresholds", "LoadedConfig", "load_config",
                                "parse_config", "state_dir")})
__all__ = ["ConfigError", "Config", "PairConfig", "ApplianceConfig", "TlsConfig", "PollConfig",
           "Thresholds", "LoadedConfig", "load_config", "parse_config", "state_dir"]
