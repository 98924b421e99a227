import { ApiError, describeError, NETWORK_ERROR_MESSAGE } from './errors.ts'

/** A call that has not answered by then is treated as a network failure (and frees the refresh lock). */
const REQUEST_TIMEOUT_MS = 15_000

/** Where a call's bearer token comes from: a signed-in user's fresh access token, or a share link's. */
export interface TokenSource {
  token(): Promise<string | undefined>
  /** Called once when the server answers 401; true when a retry with a new token makes sense. */
  unauthorized?(): Promise<boolean>
}

export interface RequestOptions {
  body?: unknown
  signal?: AbortSignal
}

/** JSON over fetch against `/api/v1`, turning every failure into an ApiError a person can read. */
export class ApiClient {
  readonly #tokens: TokenSource | undefined

  constructor(tokens?: TokenSource) {
    this.#tokens = tokens
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options)
  }
  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body })
  }
  put<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body })
  }
  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body })
  }
  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path)
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}, retried = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    const token = await this.#tokens?.token()
    if (token) headers.authorization = `Bearer ${token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (error) {
      if (options.signal?.aborted) throw error
      throw new ApiError(0, 'network', NETWORK_ERROR_MESSAGE)
    }
    if (response.status === 401 && token && !retried && (await this.#tokens?.unauthorized?.())) {
      return this.request<T>(method, path, options, true)
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => undefined)) as { code?: string; message?: string } | undefined
      throw new ApiError(response.status, body?.code ?? 'error', describeError(response.status, body?.message))
    }
    if (response.status === 204) return undefined as T
    return (await response.json()) as T
  }
}
