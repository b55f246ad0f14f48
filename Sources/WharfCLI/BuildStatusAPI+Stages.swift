import Edge
import Foundation
import Scheduler

/// `GET /_wharf/api/builds/{id}/stages`: a build's stage timeline for the dashboard's Builds page,
/// who may read it as for the build's log (admin token, dashboard sessions of either role, a
/// token of the build's app). Read from the log (`BuildStageTimelines`), so it works for builds a
/// separate `wharf scheduler` runs.
extension BuildStatusAPI {
    struct StagesView: Encodable {
        struct Stage: Encodable {
            var name: String
            /// Seconds since the Unix epoch.
            var startedAt: Double
            /// nil while the stage runs.
            var endedAt: Double?
            /// Its duration, or for the running stage the time it has run so far.
            var seconds: Double
            var current: Bool
        }
        var id: Int64
        var app: String
        var state: String
        var attempt: Int
        /// The attempt's first log line (seconds since the Unix epoch); nil before any.
        var startedAt: Double?
        /// The server's clock, for the page to tick the running stage on from.
        var now: Double
        var stages: [Stage]
        /// The current stage's name, nil when none runs.
        var current: String?
        /// Earlier stages left out (over `BuildStageTimeline.maxStages`).
        var omitted: Int
        /// False while a long log is still being caught up with (ask again).
        var complete: Bool
    }

    func stages(_ request: AdminRequest) throws -> AdminResponse {
        let job = try authorizedJob(request, app: nil)
        let snapshot = try timelines.timeline(jobID: job.id)
        let now = Date().timeIntervalSince1970
        let timeline = snapshot.timeline
        // Only a running job has a running stage (a queued retry's last attempt has ended).
        let current = snapshot.state == .running ? timeline.current : nil
        let stages = timeline.stages.map { stage in
            let running = current == stage && stage.endedAt == nil
            return StagesView.Stage(
                name: stage.name, startedAt: stage.startedAt, endedAt: stage.endedAt,
                seconds: max(0, (stage.endedAt ?? (running ? now : timeline.lastLineAt ?? stage.startedAt)) - stage.startedAt),
                current: running)
        }
        let view = StagesView(
            id: job.id, app: job.app, state: snapshot.state.rawValue, attempt: timeline.attempt,
            startedAt: timeline.startedAt, now: now, stages: stages, current: current?.name,
            omitted: timeline.omitted, complete: snapshot.complete)
        return AdminJSON.response(view)
    }
}
