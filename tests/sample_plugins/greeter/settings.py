from pydantic import BaseModel, Field


class GreeterSettings(BaseModel):
    greeting: str = Field("Hello", min_length=1, max_length=50, description="The word /greet starts with")
    shout: bool = Field(False, description="Greet in capitals")
