import ArtifactStore
import Deploy
import Edge
import Foundation
import Scheduler

/// Puts the push webhooks on the admin listener: `POST /_wharf/hooks/github/{app}` (signed, no
/// bearer token) and `POST /_wharf/hooks/generic/{app}` (a deploy token of the app). An accepted push
/// becomes a `user_push` job on the scheduler's queue whose source is the registry's git URL at the
/// pushed commit; the delivery id is recorded with the job in one transaction (replays queue nothing).
struct HookWiring {
    let api: PushHookAPI

    init(store: Store, queue: JobQueue, defaults: JobSubmission.Defaults) {
        api = PushHookAPI(store: store) { build in
            let source = try GitSource(url: build.gitURL, commit: build.commit, ref: build.ref)
            var request = try JobSubmission.pushRequest(
                app: build.app.name, buildType: build.app.targetType, source: source, command: build.app.buildCommand,
                output: build.app.outputDirectory, owner: "push:\(build.forge)", defaults: defaults, catalog: queue.configuration.catalog)
            request.force = build.force
            switch try queue.enqueuePush(request, forge: build.forge, delivery: build.delivery, now: Date()) {
            case .queued(let id): return .queued(jobID: id)
            case .replay(let id): return .replay(jobID: id)
            }
        }
    }

    func register(on routes: AdminRoutes) throws {
        let api = self.api
        try routes.registerHook("POST", "/_wharf/hooks/github/{app}", access: nil) { DeployWiring.reply(api.github(DeployWiring.adapt($0))) }
        try routes.registerHook("POST", "/_wharf/hooks/generic/{app}", access: .delegated) { DeployWiring.reply(api.generic(DeployWiring.adapt($0))) }
    }
}
