import ArgumentParser

/// The `wharf` command: argument parsing and wiring only.
struct Wharf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wharf",
        abstract: "An artifact CDN edge and a build scheduler.",
        subcommands: [
            PublishCommand.self, DeploymentsCommand.self, RollbackCommand.self,
            GarbageCollectCommand.self, VerifyCommand.self, StoreCommand.self,
            ServeCommand.self, EdgeCommand.self, CheckConfigCommand.self,
            SchedulerCommand.self, BuildCommand.self, JobsCommand.self, LogsCommand.self, CancelCommand.self, SlotsCommand.self,
            PopularCommand.self, CronCommand.self, WarmCommand.self, SimulateCommand.self,
            AlertsCommand.self, AppsCommand.self, DeployCommand.self,
        ])
}
