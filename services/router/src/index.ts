export {
  ADMIN_PATH,
  createRouter,
  type ModelInfo,
  type RequestTap,
  type Router,
  type RouterOptions,
  type Routing,
  type StickyKey,
} from './router.ts';
export { followDecisions, type DecisionFollower, type FollowOptions } from './follow.ts';
export {
  createRoutingTable,
  type Backend,
  type RouterMode,
  type RoutingState,
  type RoutingTable,
  type Side,
} from './routing.ts';
export { bucketOf, hash32, onCanary } from './split.ts';
export {
  loadRouterConfig,
  parseRouterConfig,
  routerConfigSchema,
  type RouterConfig,
} from './config.ts';
export { startRouterService, type RouterService, type RouterServiceDeps } from './service.ts';
