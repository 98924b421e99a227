import { afterEach } from 'vitest'
import { runDeferred } from '../helpers/cleanup.ts'

afterEach(runDeferred)
