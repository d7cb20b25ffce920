"""Provider names as clients send them, mapped to genai-prices provider ids."""

# What clients send as the provider (SDK names, OpenTelemetry `gen_ai.system` and
# `gen_ai.provider.name` values) mapped to genai-prices provider ids. Names that
# are already ids (openai, anthropic, groq, mistral, cohere, deepseek, …) need no
# entry; genai-prices also matches some loose names itself (anything containing
# "bedrock" is aws, anything containing "gemini" is google).
_ALIASES_BY_PROVIDER_ID: dict[str, tuple[str, ...]] = {
    "azure": (
        "azure_openai",
        "azure-openai",
        "azure.ai.openai",
        "az.ai.openai",
        "azure.ai.inference",
        "az.ai.inference",
        "azure_ai",
    ),
    "google": (
        "gemini",
        "google_genai",
        "google-genai",
        "google_ai_studio",
        "vertex",
        "vertex_ai",
        "vertexai",
        "google-vertex",
        "gcp.gemini",
        "gcp.vertex_ai",
        "gcp.gen_ai",
    ),
    "aws": ("bedrock", "aws.bedrock", "aws_bedrock", "aws-bedrock", "amazon-bedrock"),
    "mistral": ("mistral_ai", "mistralai", "mistral-ai"),
    "x-ai": ("xai", "x_ai"),
    "together": ("together_ai", "together-ai", "togetherai"),
    "fireworks": ("fireworks_ai", "fireworks-ai"),
    "moonshotai": ("moonshot",),
    "zhipuai": ("zhipu",),
}
PROVIDER_ALIASES: dict[str, str] = {
    alias: provider_id
    for provider_id, aliases in _ALIASES_BY_PROVIDER_ID.items()
    for alias in aliases
}


def canonical_provider(provider: str) -> str:
    """The genai-prices id for a provider name a client sent, if it is an alias."""
    name = provider.strip().lower()
    return PROVIDER_ALIASES.get(name, name)
