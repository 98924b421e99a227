import Type, { type Static } from 'typebox'

export const UserDto = Type.Object(
  {
    id: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    name: Type.String(),
  },
  { $id: 'User', additionalProperties: false },
)
export type UserDto = Static<typeof UserDto>

// The server trims (and lower-cases) the email and trims the name before validating, so these
// limits apply to what is stored.
const Email = Type.String({ format: 'email', maxLength: 320 })
const NewPassword = Type.String({ minLength: 8, maxLength: 1024 })
// Login accepts any length: a later, stricter policy must not lock out existing accounts.
const Password = Type.String({ minLength: 1, maxLength: 1024 })
const Name = Type.String({ minLength: 1, maxLength: 255 })
const RefreshToken = Type.String({ minLength: 1, maxLength: 512 })

export const RegisterBody = Type.Object(
  { email: Email, password: NewPassword, name: Name },
  { additionalProperties: false },
)
export type RegisterBody = Static<typeof RegisterBody>

export const LoginBody = Type.Object({ email: Email, password: Password }, { additionalProperties: false })
export type LoginBody = Static<typeof LoginBody>

/** Body of both `/auth/refresh` and `/auth/logout`. */
export const RefreshTokenBody = Type.Object({ refreshToken: RefreshToken }, { additionalProperties: false })
export type RefreshTokenBody = Static<typeof RefreshTokenBody>

/** What register, login and refresh answer. */
export const AuthSessionDto = Type.Object(
  {
    user: UserDto,
    /** Bearer token for REST and the `token` of a WebSocket; a JWT. */
    accessToken: Type.String(),
    /** Opaque; single use: `/auth/refresh` answers a new one and the presented one dies. */
    refreshToken: Type.String(),
    /** Seconds until `accessToken` expires. */
    expiresIn: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
)
export type AuthSessionDto = Static<typeof AuthSessionDto>
