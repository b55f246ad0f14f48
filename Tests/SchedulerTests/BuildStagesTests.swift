import Testing

@testable import Scheduler

@Suite struct BuildStagesTests {
    @Test func stageMarkersAreRecognisedOnlyInTheirExactForm() {
        #expect(BuildStages.marker(in: "::stage compilation") == "compilation")
        #expect(BuildStages.marker(in: "::stage   packaging  \r") == "packaging")
        #expect(BuildStages.marker(in: "::stage my-stage_2.b") == "my-stage_2.b")
        #expect(BuildStages.marker(in: "::stage ") == nil)
        #expect(BuildStages.marker(in: "::stage two words") == nil)
        #expect(BuildStages.marker(in: " ::stage indented") == nil)
        #expect(BuildStages.marker(in: "::stagecompilation") == nil)
        #expect(BuildStages.marker(in: Substring("::stage " + String(repeating: "x", count: 65))) == nil)
        #expect(BuildStages.marker(in: "::stage évaluation") == nil)
    }

    @Test func eachStageLastsUntilTheNextMarkerAndRepeatsAddUp() {
        var stages = BuildStages()
        stages.begin("validation", at: 1)
        stages.begin("compilation", at: 3)
        stages.begin("validation", at: 10)
        stages.end(at: 10.5)
        stages.end(at: 99)  // nothing running: no effect
        #expect(stages.durations == ["validation": 2.5, "compilation": 7])
    }
}
