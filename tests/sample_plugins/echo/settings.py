from pydantic import BaseModel, Field


class EchoSettings(BaseModel):
    prefix: str = Field(default=">", max_length=5)
    repeat: int = Field(default=1, ge=1, le=5)
